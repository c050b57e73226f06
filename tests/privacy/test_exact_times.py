"""G11: complainant-originated times are kept only to the day, and nothing anyone receives
is timed by a complainant's act.

A draft, its files, a complainant's session, an API idempotency key, the audit entries of
a complainant's acts and the emails those acts queue all keep midnight UTC; the deadlines
the service needs exactly (30 minutes idle, 24 hours) are sealed under the complainant's
own key. No email leaves inside a complainant's request: everything one act queues is
due at the same random quarter-hour boundary 5 to 65 minutes later, for `flask outbox
deliver`, and an email's `sent_at` is kept to the quarter hour.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import runpy
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import DateTime, select, text

from mediation import PROJECT_ROOT, create_app
from mediation.domain.coarse_time import day_end, day_start, grid_floor
from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.casework import Notification
from mediation.models.intake import ApiIdempotencyKey, ComplainantSession, Draft, DraftDocument
from mediation.models.time import as_utc, utcnow
from mediation.services import audit, notifications, sealed_clocks
from mediation.services.audit import Actor
from mediation.vault import generate_symmetric_key
from tests import seeded
from tests.casework.conftest import Driver, Staffed, complainant_browser, staff_browser
from tests.conftest import (
    ON_POSTGRES,
    AuthActions,
    StaffFactory,
    StaffLogin,
    base_config,
    create_run_database,
    drop_run_database,
)
from tests.intake.conftest import Clock, Receipt, fill_in, page_answers

COMPLAINANT = Actor.complainant()
COMPLAINANT_ROWS = (Draft, DraftDocument, ComplainantSession, ApiIdempotencyKey, Notification)


QUARTER_HOUR = timedelta(minutes=15)


def is_midnight(moment: datetime) -> bool:
    return as_utc(moment) == day_start(moment)


def on_the_grid(moment: datetime) -> bool:
    return as_utc(moment) == grid_floor(moment, QUARTER_HOUR)


def times_of(row: Any) -> dict[str, datetime]:
    """Every date-time column of a row, by name, except the outbox's own delivery times."""
    found = {}
    for column in row.__table__.columns:
        if isinstance(column.type, DateTime) and column.name not in {"not_before", "sent_at"}:
            value = getattr(row, column.key)
            if value is not None:
                found[column.name] = value
    return found


def assert_only_days(app: Flask) -> int:
    """Every complainant-originated time in the database is a UTC midnight; how many."""
    checked = 0
    with app.app_context():
        for model in COMPLAINANT_ROWS:
            for row in db.session.execute(select(model)).scalars():
                for name, value in times_of(row).items():
                    assert is_midnight(value), (model.__tablename__, name, value)
                    checked += 1
        entries = db.session.execute(
            select(AuditEntry).where(AuditEntry.actor_kind == "complainant")
        ).scalars()
        for entry in entries:
            assert is_midnight(entry.occurred_at), (entry.action, entry.occurred_at)
            checked += 1
        assert audit.verify(db.session).ok  # coarse times take nothing from the chain
        db.session.remove()
    return checked


def signed_in(client: FlaskClient, receipt: Receipt) -> None:
    response = client.post(
        "/my-complaint/sign-in",
        data={"reference": receipt.reference, "passphrase": receipt.passphrase},
    )
    assert response.status_code == 302


def test_a_complainants_journey_leaves_only_days_in_the_database(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int, clock: Clock
) -> None:
    """Filing with a document, signing in, a message, a document, an adverse-treatment
    report, withdrawing, and an API complaint with an idempotency key."""
    clock.now = clock.now.replace(hour=14, minute=37, second=12, microsecond=345678)
    fill_in(client, page_answers("confidential", body_id)[:7])
    upload = client.post(
        "/my-complaint/new/documents",
        data={"action": "upload", "files": [(BytesIO(b"minutes"), "minutes.txt")]},
        content_type="multipart/form-data",
    )
    assert upload.status_code in {200, 302}
    with app.app_context():
        draft = db.session.execute(select(Draft)).scalar_one()
        assert as_utc(draft.expires_at) == day_end(clock.now + timedelta(hours=24))
        # The exact deadline is sealed: without the draft key it cannot be read.
        assert draft.clock is not None
        wrong = generate_symmetric_key()
        assert sealed_clocks.open_clock(draft.clock, wrong, f"draft:{draft.id}:expiry", 1) is None
        db.session.remove()
    assert assert_only_days(app) >= 4
    fill_in(client, page_answers("confidential", body_id)[7:])
    response = client.post("/my-complaint/new/check")
    assert response.status_code == 303
    from tests.intake.conftest import read_receipt

    receipt = read_receipt(client.get("/my-complaint/receipt").text)
    signed_in(client, receipt)
    with app.app_context():
        row = db.session.execute(select(ComplainantSession)).scalar_one()
        expiry = struct.unpack_from(">BBQ", row.blob)[2]  # the custody blob's readable expiry
        assert datetime.fromtimestamp(expiry, UTC) == day_end(clock.now + timedelta(hours=12))
        db.session.remove()
    assert client.post("/my-complaint/messages", data={"text": seeded.MESSAGE}).status_code == 302
    added = client.post(
        "/my-complaint/documents",
        data={"files": [(BytesIO(b"a letter"), "letter.txt")]},
        content_type="multipart/form-data",
    )
    assert added.status_code == 302
    reported = client.post(
        "/my-complaint/adverse-treatment", data={"kind": "funding_delayed", "text": seeded.REPLY}
    )
    assert reported.status_code == 302
    withdrawn = client.post("/my-complaint/withdraw", data={"text": "Settled", "confirm": "y"})
    assert withdrawn.status_code == 302
    filed = client.post(
        "/api/v1/complaints",
        json={
            "openness": "anonymous",
            "respondent_body": {"name": "Marsh County Council", "type": "local_authority"},
            "breaches": [{"category": "funding_change"}],
            "what_happened": seeded.NARRATIVE,
            "outcome_sought": "Reinstate the grant",
        },
        headers={"Idempotency-Key": "5f0c2a9e-8d7b-4c61-9a3e-2b1f7d4e6c80"},
    )
    assert filed.status_code == 201, filed.text
    with app.app_context():
        actions = set(
            db.session.execute(
                select(AuditEntry.action).where(AuditEntry.actor_kind == "complainant")
            ).scalars()
        )
        assert {"case.submitted", "message.added", "document.added"} <= actions
        assert db.session.execute(select(ApiIdempotencyKey)).scalar_one().clock is not None
        assert db.session.execute(select(Notification)).first() is not None
        db.session.remove()
    assert assert_only_days(app) >= 12


def test_a_session_still_idles_out_after_exactly_30_minutes_and_ends_after_12_hours(
    client: FlaskClient, journey: Callable[..., Receipt], clock: Clock
) -> None:
    receipt = journey("anonymous")
    signed_in(client, receipt)
    for _ in range(3):
        clock.advance(minutes=29)
        assert client.get("/my-complaint/").status_code == 200  # each visit slides it on
    clock.advance(minutes=30, seconds=1)
    assert client.get("/my-complaint/").status_code == 302  # idle: sign in again
    signed_in(client, receipt)
    signed_in_at = clock.now
    while client.get("/my-complaint/").status_code == 200:
        assert clock.now - signed_in_at < timedelta(hours=12)
        clock.advance(minutes=29, seconds=59)
    assert clock.now - signed_in_at >= timedelta(hours=12)  # the longest a session lasts


def test_a_draft_and_an_idempotency_key_keep_their_exact_24_hours(
    app: Flask,
    client: FlaskClient,
    officer: StaffLogin,
    body_id: int,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mid-morning, so that the rounded-up deadline (midnight) is well after the exact one:
    the exact one is what counts."""
    import mediation.web.api.routes as api_routes

    clock.now = clock.now.replace(hour=10, minute=0)
    fill_in(client, page_answers("anonymous", body_id)[:3])
    clock.advance(hours=23, minutes=59)
    assert client.get("/my-complaint/new/breaches").status_code == 200
    clock.advance(minutes=1, seconds=1)  # 24 hours after the last save, long before midnight
    gone = client.get("/my-complaint/new/breaches")
    assert gone.status_code == 302

    body = {
        "openness": "anonymous",
        "respondent_body": {"name": "Marsh County Council", "type": "local_authority"},
        "breaches": [{"category": "funding_change"}],
        "what_happened": seeded.NARRATIVE,
        "outcome_sought": "Reinstate the grant",
    }
    key = {"Idempotency-Key": "5f0c2a9e-8d7b-4c61-9a3e-2b1f7d4e6c80"}
    start = utcnow().replace(hour=10, minute=0)
    monkeypatch.setattr(api_routes, "utcnow", lambda: start)
    assert client.post("/api/v1/complaints", json=body, headers=key).status_code == 201
    monkeypatch.setattr(api_routes, "utcnow", lambda: start + timedelta(hours=23, minutes=59))
    assert client.post("/api/v1/complaints", json=body, headers=key).status_code == 409
    monkeypatch.setattr(api_routes, "utcnow", lambda: start + timedelta(hours=24, seconds=1))
    other = dict(body, outcome_sought="An apology")
    assert client.post("/api/v1/complaints", json=other, headers=key).status_code == 201


# The outbox -------------------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[list[str]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(list(envelope.rcpt_tos))  # type: ignore[attr-defined]
        return "250 Message accepted"


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield handler
    controller.stop()


def pending_after(moment: datetime) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(Notification).where(
                Notification.status == "pending", Notification.not_before > moment
            )
        ).scalars()
    )


def test_no_email_leaves_in_a_complainants_request_and_each_waits_a_random_delay(
    app: Flask, inbox: Inbox, driver: Driver, staffed: Staffed, monkeypatch: pytest.MonkeyPatch
) -> None:
    filed = driver.to("mediation_offered")
    case = filed.case
    case.mediator_id = staffed.mediator.id  # so that the mediator hears of the acts too
    db.session.commit()
    notifications.deliver_pending(db.session, now=utcnow() + timedelta(hours=2))
    db.session.commit()
    inbox.messages.clear()
    driver.send_statement(filed, "A revised statement")
    inbox.messages.clear()
    started = utcnow()
    complainant = complainant_browser(app, filed.reference, filed.passphrase)
    from mediation.services.disclosure_statements import awaiting, digest

    row = awaiting(db.session, case)
    assert row is not None
    acts: list[tuple[str, dict[str, Any]]] = [
        (
            "/my-complaint/statement",
            {
                "statement_id": row.id,
                "shown_digest": digest("A revised statement"),
                "answer": "approve",
            },
        ),
        ("/my-complaint/adverse-treatment", {"kind": "funding_delayed", "text": seeded.REPLY}),
        ("/my-complaint/messages", {"text": seeded.MESSAGE}),
        ("/my-complaint/withdraw", {"text": "Settled", "confirm": "y"}),
    ]
    seen: set[int] = set()
    several = 0
    for path, data in acts:
        response = complainant.post(path, data=data)
        assert response.status_code == 302, (path, response.text)
        assert inbox.messages == [], path  # nothing left within the complainant's request
        # Everything one act queued is due at one moment: recipients comparing the
        # arrivals of one act's emails learn no more than any one of them.
        of_this_act = [n for n in pending_after(started) if n.id not in seen]
        if len({n.recipient_user_id for n in of_this_act}) >= 2:
            several += 1
        assert len({as_utc(n.not_before) for n in of_this_act}) <= 1, path
        seen.update(n.id for n in of_this_act)
    assert several >= 3  # the statement, the report and withdrawing email several people
    finished = utcnow()
    queued = pending_after(finished)
    recipients = {n.recipient_user_id for n in queued}
    # The public body's staff, the case officers and the mediator each have mail waiting.
    assert {staffed.respondent.id, staffed.officer.id, staffed.mediator.id} <= recipients
    for waiting in queued:
        not_before = as_utc(waiting.not_before)
        assert started + timedelta(minutes=5) <= not_before <= finished + timedelta(minutes=65)
        assert on_the_grid(not_before)  # a quarter-hour boundary, not the act's time
        assert is_midnight(waiting.created_at)
    # A staff member's request at once after sends its own mail, not the complainant's.
    respondent = staff_browser(app, staffed.logins["respondent"])
    inbox.messages.clear()
    respondent.post(f"/respondent/cases/{filed.reference}/reply", data={"text": "Noted"})
    assert len(pending_after(finished)) == len(queued)
    # The cron job sends nothing early, and everything once its delay has passed.
    runner = app.test_cli_runner()
    before = len(inbox.messages)
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    assert len(inbox.messages) == before
    later = utcnow() + timedelta(minutes=66)
    monkeypatch.setattr(notifications, "utcnow", lambda: later)
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    assert f"{len(queued)} sent" in result.output
    assert len(inbox.messages) == before + len(queued)
    db.session.expire_all()
    sent = list(db.session.execute(select(Notification).where(Notification.sent_at.isnot(None))))
    assert len(sent) >= len(queued)
    for (row,) in sent:  # the staff member's prompt emails too: the quarter hour only
        assert on_the_grid(row.sent_at), row.sent_at
        assert as_utc(row.sent_at) <= later


def test_one_act_has_one_delivery_time_and_each_act_draws_its_own(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    """All the emails of one act (one transaction) share a quarter-hour boundary drawn at
    random 5 to 65 minutes after it; the next act draws again."""
    filed = driver.to("in_mediation")
    filed.case.mediator_id = staffed.mediator.id
    db.session.commit()
    due: list[datetime] = []
    seen = {n.id for n in db.session.execute(select(Notification)).scalars()}
    for _ in range(30):
        act = utcnow()
        for audience in ("case_officers", "mediator", "respondents"):
            notifications.notify(db.session, filed.case, audience, "urgent", actor=COMPLAINANT)
        db.session.flush()
        rows = [n for n in pending_after(act) if n.id not in seen]
        seen.update(n.id for n in rows)
        assert {staffed.officer.id, staffed.mediator.id, staffed.respondent.id} <= {
            n.recipient_user_id for n in rows
        }
        moments = {as_utc(n.not_before) for n in rows}
        assert len(moments) == 1
        (moment,) = moments
        assert on_the_grid(moment)
        assert act + timedelta(minutes=5) <= moment < utcnow() + timedelta(minutes=65)
        due.append(moment - grid_floor(act, QUARTER_HOUR))
        db.session.commit()  # the act ends; the next one is another transaction
    # Random among the 4 boundaries it may reach, not the same one each time (a 4 ** -29
    # chance that a fair draw fails this).
    assert len(set(due)) >= 2


def test_a_failed_email_is_tried_again_later_by_the_cron_job(
    app: Flask, driver: Driver, staffed: Staffed, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = int(probe.getsockname()[1])
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port)  # nothing listens
    filed = driver.file()
    # What filing through the form or the API queues: after a random delay.
    notifications.notify(db.session, filed.case, "case_officers", "new_case", actor=COMPLAINANT)
    db.session.commit()
    later = utcnow() + timedelta(minutes=66)
    monkeypatch.setattr(notifications, "utcnow", lambda: later)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0 and "0 sent" in result.output
    db.session.expire_all()
    rows = list(db.session.execute(select(Notification)).scalars())
    assert rows and all(r.attempts == 1 and r.status == "pending" for r in rows)
    assert all(as_utc(r.not_before) >= later + notifications.RETRY_AFTER for r in rows)
    assert all(on_the_grid(r.not_before) for r in rows)


# The upgrade ------------------------------------------------------------------------------


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'coarse.sqlite3'}"
        return
    url = create_run_database("mediation_migration_test")  # one of the run's own databases
    yield url
    drop_run_database(url)


def test_the_upgrade_coarsens_existing_rows_and_ends_complainant_sessions(
    empty_database_url: str, tmp_path: Path
) -> None:
    app = create_app(base_config(empty_database_url, tmp_path))
    exact = datetime(2026, 12, 7, 14, 37, 12, 345678, tzinfo=UTC)
    with app.app_context():
        upgrade(revision="0021_queue_changes")
        values = {"t": exact, "e": exact + timedelta(hours=24)}
        db.session.execute(
            text(
                "INSERT INTO intake_drafts (id, status, created_at, updated_at, expires_at) "
                "VALUES ('d1', 'open', :t, :t, :e)"
            ),
            values,
        )
        db.session.execute(
            text(
                "INSERT INTO intake_draft_documents (draft_id, size, sealed_name, "
                "sealed_content, added_at) VALUES ('d1', 1, :b, :b, :t)"
            ),
            {**values, "b": b"x"},
        )
        db.session.execute(
            text(
                "INSERT INTO api_idempotency_keys (key_hash, request_hash, created_at, "
                "expires_at) VALUES ('k1', 'r1', :t, :e)"
            ),
            values,
        )
        db.session.execute(
            text(
                "INSERT INTO notifications (created_at, recipient_kind, topic, link_path, "
                "status, attempts) VALUES (:t, 'staff', 'new_case', '/casework', 'pending', 0)"
            ),
            values,
        )
        db.session.commit()
        upgrade()
        db.session.expire_all()
        draft = db.session.execute(select(Draft)).scalar_one()
        assert as_utc(draft.created_at) == as_utc(draft.updated_at) == day_start(exact)
        assert as_utc(draft.expires_at) == datetime(2026, 12, 9, tzinfo=UTC)
        document = db.session.execute(select(DraftDocument)).scalar_one()
        assert as_utc(document.added_at) == day_start(exact)
        key = db.session.execute(select(ApiIdempotencyKey)).scalar_one()
        assert as_utc(key.created_at) == day_start(exact)
        assert as_utc(key.expires_at) == datetime(2026, 12, 9, tzinfo=UTC)
        outbox = db.session.execute(select(Notification)).scalar_one()
        assert as_utc(outbox.created_at) == day_start(exact) and outbox.not_before is None
        assert db.session.execute(select(ComplainantSession)).first() is None
        db.session.remove()
        db.engine.dispose()


# The access log ---------------------------------------------------------------------------

GUNICORN_CONFIG = PROJECT_ROOT / "deploy" / "gunicorn.conf.py"
# Atoms that would log a client's address, what they asked beyond the path, who they are,
# or the moment they asked.
TELLING_ATOMS = {"h", "r", "q", "t", "f", "a", "u", "l", "p"}


def test_the_production_access_log_format_records_no_client_and_no_time_of_day() -> None:
    config = runpy.run_path(str(GUNICORN_CONFIG))
    atoms = re.findall(r"%\(([^)]+)\)s", config["access_log_format"])
    assert atoms and set(atoms) <= set(config["SAFE_ATOMS"])
    assert not set(atoms) & TELLING_ATOMS
    assert not [a for a in atoms if a.startswith("{")]  # no header, no environment value
    assert config["logger_class"] is config["AccessLogger"]
    logged = config["logged_path"]
    assert logged("/my-complaint/documents/123") == "/my-complaint/documents/-"
    assert logged("/api/v1/complainant/documents/7") == "/api/v1/complainant/documents/-"
    assert logged("/casework/cases/CM-2345-6789") == "/casework/cases/CM-2345-6789"


def test_gunicorn_with_the_production_config_logs_no_address_query_or_time(
    app: Flask, app_config: dict[str, Any], tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    access_log = tmp_path / "access.log"
    env = {
        **os.environ,
        "DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "access-log-test-secret",
        "MEDIATION_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    env.pop("DEMO_MODE", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "-c",
            str(GUNICORN_CONFIG),
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access_log),
            # Even a format asking for the address and the time gets "-" for them.
            "--access-logformat",
            "%(h)s %({x-forwarded-for}i)s %(t)s %(r)s %(day)s %(m)s %(U)s %(s)s",
            "mediation.wsgi:app",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    asked = [
        "/healthz?secret=ask-me",
        "/my-complaint/documents/48213",
        "/privacy",
    ]
    try:
        deadline = time.monotonic() + 60
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
            finally:
                # Closed however it went: a socket left to the collector while gunicorn
                # was still booting failed the run with a ResourceWarning.
                connection.close()
        for path in asked:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            connection.request("GET", path, headers={"X-Forwarded-For": "203.0.113.9"})
            connection.getresponse().read()
            connection.close()
        deadline = time.monotonic() + 20
        while access_log.read_text().count("\n") < len(asked) + 1:
            assert time.monotonic() < deadline, access_log.read_text()
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=20)
    lines = access_log.read_text().splitlines()
    text_logged = "\n".join(lines)
    for telling in ("127.0.0.1", "203.0.113.9", "ask-me", "48213", "HTTP/1.1"):
        assert telling not in text_logged
    assert not re.search(r"\d\d:\d\d:\d\d", text_logged)  # no time of day
    today = datetime.now(UTC).date().isoformat()
    assert f"- - - - {today} GET /healthz 200" in lines
    assert any(line.endswith(f"{today} GET /my-complaint/documents/- 302") for line in lines)


def test_the_administrators_audit_page_shows_a_complainants_act_as_its_day_only(
    app: Flask, client: FlaskClient, officer: StaffLogin, make_staff: StaffFactory
) -> None:
    with app.app_context():
        filed = seeded.file_seeded("anonymous")
        db.session.commit()
        entry = db.session.execute(
            select(AuditEntry).where(AuditEntry.action == "case.submitted")
        ).scalar_one()
        assert entry.actor_kind == "complainant" and is_midnight(entry.occurred_at)
        day = as_utc(entry.occurred_at).date().isoformat()
    AuthActions(client).sign_in(make_staff("admin"))
    page = client.get("/admin/audit").text
    row = next(line for line in page.splitlines() if filed.reference in line)
    assert f"<td>{day}</td>" in row and "00:00" not in row
