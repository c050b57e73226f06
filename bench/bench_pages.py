"""Benchmark: the main pages over many cases, their SQL statements, and a worker's memory.

For each engine and each size (default 1,000 and 100,000 cases) it builds a database:
public bodies, staff with production-strength keys and authenticators, three cases filed
through the real services (one acknowledged, triaged, shared with its public body through
an approved statement and assigned to the benchmark's mediator), 300 historic cases and
the statistics release of last year, and the rest written in bulk (bench/casework_seed.py:
filed evenly over five years, closed after a lognormal number of days with a median of two
months, sealed columns destroyed a year after closing; at 100,000 cases about 4,600 are in
the queue). Bulk rows hold everything these pages read; no page opens a bulk case.

Prints, per engine (names end in `_postgresql` for PostgreSQL):

    queries <page>_<size> <n>     SQL statements for one request to each page, signed in
                                  (queue, case, mediator, respondent, statistics, portal)
    ms <page>_<size> <ms>         median time of that page through the Flask test client
    ms queue_service_<size> <ms>  the queue's service call alone (no HTTP, no template)
    ms queue_page_interleaved_<size>, ms baseline_page_interleaved_<size>
                                  the two pages' median times while taking turns (and
                                  ms queue_page_after_change_interleaved_<size>, below)
    ratio queue_page <x>          the case officer's queue (/casework/, 50 cases a page)
                                  against a minimal Flask page of 50 cases from an indexed
                                  select, both over the largest database, taking turns
                                  request by request: median time of the minimal page /
                                  median time of the queue (the ratio of throughputs).
                                  A worker keeps a copy of the whole queue
                                  (`mediation.services.queue_replica`), so this is the
                                  queue as officers reload it between changes
    ratio queue_page_after_change <x>   the same, each queue request just after another
                                  connection changed a case (untimed): the worker reads
                                  the change's note and the changed case from the
                                  database, as on the first request after a change
    rss_mb gunicorn_worker_<n> <mb>   resident memory of each of 2 gunicorn workers after
                                  every role signed in and fetched its pages 10 times

SQLite always, in a temporary folder; PostgreSQL when --url or TEST_DATABASE_URL names a
server, in a database of its own (`mediation_bench_pages`, created and dropped here, and
VACUUM ANALYZEd after the bulk load as autovacuum would). Prints no reference, passphrase,
identity or narrative.

    .venv/bin/python bench/bench_pages.py [--sizes 1000 100000] [--url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyotp
from flask import Flask, render_template
from flask.testing import FlaskClient
from jinja2 import DictLoader
from sqlalchemy import create_engine, event, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_intake import complaint
from bench.casework_seed import (
    BulkPlan,
    Login,
    bodies,
    bulk_cases,
    create_staff,
    drop_database,
    fresh_database,
    migrated_app,
)
from mediation.extensions import db
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.services import case_queue
from mediation.services.case_queue import PAGE_SIZE, QUEUE_STATES

DATABASE = "mediation_bench_pages"
BODY = "Marsh County Council"
PANEL = 200  # mediators among whom bulk cases are shared (the benchmark's own is one)
HISTORIC = 300
STATEMENT = "Benchmark statement: a grant was changed without the notice the Compact asks."
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
BASELINE_PAGE = """<!doctype html><title>Cases</title><table>
{% for row in rows %}<tr><td><a href="/cases/{{ row.reference }}">{{ row.reference }}</a></td>
<td>{{ row.state }}</td><td>{{ row.submitted_on.strftime("%-d %b %Y") }}</td></tr>{% endfor %}
</table>"""


@dataclass
class Seeded:
    """A benchmark database and what signing in to it takes (the passphrase stays here)."""

    app: Flask
    url: str
    folder: Path
    logins: dict[str, Login]
    spare_logins: dict[str, Login]  # for gunicorn: an authenticator code is used once
    shared_reference: str
    passphrase: str
    queue_size: int


def _perform(case: Case, action: str, officer: StaffUser) -> None:
    from mediation.services.accounts import actor_for
    from mediation.services.workflow import perform

    perform(db.session, case, action, actor_for(officer), role="case_officer")


def _real_cases(logins: dict[str, Login], body_id: int) -> tuple[str, str]:
    """File three complaints through the API's service; share the first with its public
    body and assign it to the benchmark's mediator. Returns its reference and passphrase."""
    from mediation.services import (
        complaints,
        disclosure_statements,
        identity_access,
        intake,
        keyring,
        triage,
    )
    from mediation.services.accounts import find_by_email

    filed = [
        intake.submit_complaint(
            db.session,
            intake.complaint_from_json(complaint(number), max_document_bytes=0),
            channel="api",
        )
        for number in (1, 0, 2)
    ]
    db.session.commit()
    officer = find_by_email(db.session, logins["case_officer"].email)
    mediator = find_by_email(db.session, logins["mediator"].email)
    assert officer is not None and mediator is not None
    officer_key = keyring.unlock(db.session, officer, logins["case_officer"].password)
    assert officer_key is not None
    shared = filed[0]
    for action in ("acknowledge", "start_triage"):
        _perform(shared.case, action, officer)
    triage.record_triage(
        db.session, officer, shared.case, categories=["funding_change"], respondent_body_id=body_id
    )
    disclosure_statements.save_draft(db.session, officer, shared.case, STATEMENT)
    row = disclosure_statements.send_for_approval(db.session, officer, shared.case)
    _, mine = complaints.complainant_keypair(db.session, shared.reference, shared.passphrase)
    disclosure_statements.complainant_decides(
        db.session,
        shared.case,
        complaints.complainant_case_key(shared.case, mine),
        row.id,
        approve=True,
        shown_digest=disclosure_statements.digest(STATEMENT),
    )
    identity_access.assign_mediator(db.session, officer, officer_key, shared.case, mediator)
    _perform(filed[2].case, "acknowledge", officer)
    db.session.commit()
    return shared.reference, shared.passphrase


def _historic_release(logins: dict[str, Login]) -> None:
    """Last year's closed cases as statistics hold them, and their published release."""
    import random

    from mediation.services import keyring
    from mediation.services.accounts import find_by_email
    from mediation.services.demo_statistics import generate_cases, insert_historic_cases
    from mediation.services.statistics_inputs import unlock_statistics
    from mediation.services.statistics_releases import publish_release

    officer = find_by_email(db.session, logins["case_officer"].email)
    assert officer is not None
    officer_key = keyring.unlock(db.session, officer, logins["case_officer"].password)
    assert officer_key is not None
    keys = unlock_statistics(db.session, officer_key)
    year = date.today().year - 1
    history = generate_cases(
        random.Random(3), bodies(db.session), date(year, 1, 1), date(year, 12, 31), HISTORIC
    )
    insert_historic_cases(db.session, keys, history, destroyed_on=date.today())
    db.session.flush()
    publish_release(db.session, officer, officer_key, str(year), today=date.today())
    db.session.commit()


def _panel(count: int) -> list[int]:
    """Panel members for bulk cases to be assigned to (rows only: nobody signs in as them)."""
    rows = [
        {"email": f"panel{n}@bench.example.org", "name": f"Panel {n}", "role": "mediator"}
        for n in range(count)
    ]
    db.session.execute(insert(StaffUser.__table__), rows)
    return list(
        db.session.execute(
            select(StaffUser.id).where(StaffUser.email.like("panel%@bench.example.org"))
        ).scalars()
    )


def seed(engine_name: str, server_url: str | None, size: int) -> Seeded:
    folder = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    url = fresh_database(engine_name, folder, server_url, DATABASE)
    # Sign-in throttling off in process only: six sign-ins from one test client address.
    app = migrated_app(url, folder / "instance", RATELIMIT_ENABLED=False)
    with app.app_context():
        body_id = db.session.execute(
            select(RespondentBody.id).where(RespondentBody.name == BODY)
        ).scalar_one()
        logins: dict[str, Login] = {}
        spare: dict[str, Login] = {}
        for role in ("case_officer", "mediator", "respondent"):
            for made, prefix in ((logins, "bench"), (spare, "spare")):
                made[role] = create_staff(
                    db.session,
                    role,
                    f"{prefix}-{role.replace('_', '-')}@bench.example.org",
                    body_id=body_id if role == "respondent" else None,
                )
        db.session.commit()
        reference, passphrase = _real_cases(logins, body_id)
        _historic_release(logins)
        started = time.perf_counter()
        mediators = [logins["mediator"].id, *_panel(PANEL - 1)]
        counts = bulk_cases(
            db.session,
            size - 3 - HISTORIC,
            BulkPlan(bodies(db.session), mediators, statement_body_id=body_id),
            date.today(),
        )
        db.session.commit()
        if engine_name == "postgresql":
            # What autovacuum does after a bulk load: statistics for the planner, and the
            # visibility map without which an index-only scan reads every row's page too.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
                admin.execute(text("VACUUM ANALYZE"))
        queued = db.session.execute(
            select(Case.id).where(Case.state.in_(QUEUE_STATES), Case.keys_destroyed_on.is_(None))
        ).all()
        print(
            f"# {engine_name}, {size} cases: {counts.cases} in bulk "
            f"({time.perf_counter() - started:.0f} s), {len(queued)} live",
            flush=True,
        )
    return Seeded(app, url, folder, logins, spare, reference, passphrase, len(queued))


def _token(page: str) -> str:
    match = CSRF.search(page)
    if not match:
        raise SystemExit("no CSRF token on the sign-in page")
    return match.group(1) or match.group(2)


def staff_client(app: Flask, login: Login) -> FlaskClient:
    client = app.test_client()
    form = {"email": login.email, "password": login.password}
    response = client.post(
        "/sign-in", data={**form, "csrf_token": _token(client.get("/sign-in").text)}
    )
    if response.status_code != 302:
        raise SystemExit(f"{login.role} could not sign in ({response.status_code})")
    code = pyotp.TOTP(login.totp_secret).now()
    token = _token(client.get("/sign-in/code").text)
    response = client.post("/sign-in/code", data={"code": code, "csrf_token": token})
    if response.status_code != 302:
        raise SystemExit(f"{login.role}: the authenticator code was refused")
    return client


def complainant_client(app: Flask, reference: str, passphrase: str) -> FlaskClient:
    client = app.test_client()
    token = _token(client.get("/my-complaint/sign-in").text)
    response = client.post(
        "/my-complaint/sign-in",
        data={"reference": reference, "passphrase": passphrase, "csrf_token": token},
    )
    if response.status_code != 302:
        raise SystemExit(f"the complainant could not sign in ({response.status_code})")
    return client


def pages(seeded: Seeded) -> dict[str, tuple[FlaskClient, str]]:
    app = seeded.app
    officer = staff_client(app, seeded.logins["case_officer"])
    return {
        "queue": (officer, "/casework/"),
        "queue_overdue": (officer, "/casework/?view=overdue"),
        "case": (officer, f"/casework/cases/{seeded.shared_reference}"),
        "mediator_list": (staff_client(app, seeded.logins["mediator"]), "/mediator/"),
        "respondent_list": (staff_client(app, seeded.logins["respondent"]), "/respondent/"),
        "statistics": (app.test_client(), "/statistics/"),
        "portal": (
            complainant_client(app, seeded.shared_reference, seeded.passphrase),
            "/my-complaint/",
        ),
    }


def get(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path.split('/cases/')[0]}: {response.status_code}")


def median_seconds(operation: Callable[[], object], budget: float, minimum: int = 15) -> float:
    for _ in range(3):
        operation()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < minimum or time.perf_counter() - started < budget:
        begun = time.perf_counter()
        operation()
        times.append(time.perf_counter() - begun)
    return statistics.median(times)


def interleaved_medians(
    ours: Callable[[], object],
    theirs: Callable[[], object],
    budget: float,
    before_ours: Callable[[], object] | None = None,
) -> tuple[float, float]:
    """Median seconds of each, taking turns request by request, so that both see the same
    machine however busy it is meanwhile; `before_ours`, untimed, before each of ours."""
    for _ in range(3):
        ours()
        theirs()
    mine: list[float] = []
    base: list[float] = []
    started = time.perf_counter()
    while len(mine) < 15 or time.perf_counter() - started < budget:
        for operation, times in ((ours, mine), (theirs, base)):
            if before_ours is not None and operation is ours:
                before_ours()
            begun = time.perf_counter()
            operation()
            times.append(time.perf_counter() - begun)
    return statistics.median(mine), statistics.median(base)


def measure_pages(
    seeded: Seeded, clients: dict[str, tuple[FlaskClient, str]], label: str, budget: float
) -> None:
    """Statements and median time of one request to each page."""
    statements: list[str] = []
    with seeded.app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    for name, (client, path) in clients.items():
        get(client, path)
        event.listen(engine, "before_cursor_execute", listener)
        statements.clear()
        get(client, path)
        event.remove(engine, "before_cursor_execute", listener)
        print(f"queries {name}_{label} {len(statements)}")
        seconds = median_seconds(lambda c=client, p=path: get(c, p), budget)
        print(f"ms {name}_{label} {seconds * 1000:.1f}", flush=True)


def compare_queue(
    seeded: Seeded, queue_client: tuple[FlaskClient, str], label: str, suffix: str, budget: float
) -> None:
    """The queue's service call alone, then the queue page against the minimal page."""
    with seeded.app.app_context():
        service = median_seconds(
            lambda: (
                case_queue.build_queue(db.session, case_queue.QueueFilters(), page_size=PAGE_SIZE),
                db.session.rollback(),
            ),
            budget,
        )
    print(f"ms queue_service_{label} {service * 1000:.1f}")
    request_baseline, dispose = baseline_page(seeded.url)
    client, path = queue_client
    queue, baseline = interleaved_medians(lambda: get(client, path), request_baseline, 2 * budget)
    print(f"ms queue_page_interleaved_{label} {queue * 1000:.1f}")
    print(f"ms baseline_page_interleaved_{label} {baseline * 1000:.2f}")
    print(f"ratio queue_page{suffix} {baseline / queue:.3f}", flush=True)
    # Every request just after another worker changed a case: the worker's copy of the
    # queue is behind, so it reads the change from the database first.
    change, done = case_changer(seeded.url)
    queue, baseline = interleaved_medians(
        lambda: get(client, path), request_baseline, 2 * budget, before_ours=change
    )
    done()
    dispose()
    print(f"ms queue_page_after_change_interleaved_{label} {queue * 1000:.1f}")
    print(f"ms baseline_page_interleaved_{label}_2 {baseline * 1000:.2f}")
    print(f"ratio queue_page_after_change{suffix} {baseline / queue:.3f}", flush=True)


def case_changer(database_url: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """A write from elsewhere, as another worker's request would commit: one live bulk
    case marked urgent, then not, in turn. Returns the write and a clean-up."""
    engine = create_engine(database_url)
    cases = Case.__table__
    with engine.connect() as connection:
        chosen = connection.execute(
            select(cases.c.id, cases.c.urgent)
            .where(cases.c.state.in_(QUEUE_STATES), cases.c.keys_destroyed_on.is_(None))
            .order_by(cases.c.id.desc())
            .limit(1)
        ).one()
    urgent = bool(chosen.urgent)

    def change() -> None:
        nonlocal urgent
        urgent = not urgent
        with engine.begin() as connection:
            connection.execute(cases.update().where(cases.c.id == chosen.id).values(urgent=urgent))

    def done() -> None:
        if urgent != bool(chosen.urgent):
            change()
        engine.dispose()

    return change, done


def baseline_page(database_url: str) -> tuple[Callable[[], object], Callable[[], None]]:
    """A minimal Flask page: the 50 newest cases in the queue's states, from an indexed
    select on the same database, in a plain table rendered from a template as Flask renders
    a template file (compiled once, then cached; `render_template_string` would compile it
    on every request, a cost no real page pays). Returns a request and a clean-up."""
    from sqlalchemy.orm import scoped_session, sessionmaker

    engine = create_engine(database_url)
    session = scoped_session(sessionmaker(bind=engine))
    cases = Case.__table__
    app = Flask("bench_baseline_page")
    app.jinja_loader = DictLoader({"cases.html": BASELINE_PAGE})

    @app.get("/")
    def page() -> str:
        rows = session.execute(
            select(cases.c.reference, cases.c.state, cases.c.submitted_on)
            .where(cases.c.state.in_(QUEUE_STATES))
            .order_by(cases.c.id.desc())
            .limit(PAGE_SIZE)
        ).all()
        session.remove()
        return render_template("cases.html", rows=rows)

    client = app.test_client()
    return (lambda: get(client, "/")), engine.dispose


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # a process that ended while we looked
        return ""


def worker_rss(seeded: Seeded, suffix: str) -> None:
    """Two gunicorn workers on the database; every role signs in (production key
    derivation) and fetches its pages ten times; then each worker's resident memory."""
    from bench.load import Client, Recorder, sign_in, start_gunicorn
    from bench.load_seed import Account

    server, port = start_gunicorn(seeded.url, seeded.folder / "instance", 2)
    recorder = Recorder()
    try:
        clients: list[tuple[Client, list[str]]] = []
        for number, (role, login) in enumerate(seeded.spare_logins.items()):
            client = Client(port, recorder, f"10.9.0.{number + 1}")
            sign_in(client, Account(login.email, role, login.totp_secret, login.password))
            paths = {
                "case_officer": [
                    "/casework/",
                    "/casework/?view=overdue",
                    "/casework/?page=2",
                    "/casework/?category=funding_change",
                ],
                "mediator": ["/mediator/"],
                "respondent": ["/respondent/"],
            }[role]
            clients.append((client, paths))
        visitor = Client(port, recorder, "10.9.0.9")
        clients.append((visitor, ["/statistics/", "/statistics/regions"]))
        for _ in range(10):
            for client, paths in clients:
                for path in paths:
                    client.request("GET page", "GET", path)
        for client, _ in clients:
            client.close()
        workers = sorted(
            int(status.parent.name)
            for status in Path("/proc").glob("[0-9]*/status")
            if re.search(rf"^PPid:\s+{server.pid}$", _read(status), re.MULTILINE)
        )
        for number, pid in enumerate(workers, start=1):
            status = Path(f"/proc/{pid}/status").read_text()
            kib = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            print(f"rss_mb gunicorn_worker_{number}{suffix} {kib / 1024:.1f}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


def bench_engine(engine_name: str, server_url: str | None, sizes: list[int], budget: float) -> None:
    suffix = "" if engine_name == "sqlite" else f"_{engine_name}"
    for size in sorted(sizes):
        seeded = seed(engine_name, server_url, size)
        clients = pages(seeded)
        measure_pages(seeded, clients, f"{size}{suffix}", budget)
        if size == max(sizes):
            compare_queue(seeded, clients["queue"], f"{size}{suffix}", suffix, budget)
            worker_rss(seeded, suffix)
        with seeded.app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(engine_name, server_url, DATABASE)
        shutil.rmtree(seeded.folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--seconds", type=float, default=3.0, help="timing budget per page")
    parser.add_argument("--url", default=os.environ.get("TEST_DATABASE_URL", ""))
    options, _ = parser.parse_known_args()
    print(f"# test client in process for queries and times; {os.cpu_count()} CPUs")
    bench_engine("sqlite", None, options.sizes, options.seconds)
    if options.url.startswith("postgresql"):
        bench_engine("postgresql", options.url, options.sizes, options.seconds)
    else:
        print("# postgresql skipped: set TEST_DATABASE_URL or pass --url")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
