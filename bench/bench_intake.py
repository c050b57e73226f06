"""Benchmark: complaint intake through the JSON API against a bare insert, per engine.

What is measured: `POST /api/v1/complaints` through the Flask test client (in process, one
request after another, no network), with production settings: the production key
derivation profile (Argon2id t=1, 4 MiB, 1 lane for the complainant's passphrase key;
t=3, 64 MiB, 4 lanes before issue 21), the X25519 suite, two custodians to seal every
case to, the rate limiter on (its limits raised so that it never refuses), the audit log,
clocks and notifications as in production. Each complaint is valid, with an
organisation's identity (anonymous every third one), two breaches and about 1,500
characters of text; no documents.

The baseline is a minimal Flask + Flask-SQLAlchemy app built here, on the same engine and
database: it parses the same JSON, checks four fields and inserts one row. The two take
turns (one complaint, then ten bare inserts) so that both see the same load. Prints
`ms` lines (mean per request, and the intake's time inside key derivation, key pair
generation and sealing, measured during the same requests) and

    ratio intake <x>              throughput of the intake / throughput of the bare insert
    ratio intake_postgresql <x>   the same on PostgreSQL (with --url or TEST_DATABASE_URL)

and the CPU time of one complainant sign-in through the API, with a wrong passphrase and
with the right one (`ms sign_in_wrong_passphrase_cpu`, `ms sign_in_right_passphrase_cpu`):
what any stranger's guess costs the server, target at most 15 ms.

SQLite always, in a temporary folder; PostgreSQL in a database of its own
(`mediation_bench_intake`, created and dropped here) on the server that --url or
TEST_DATABASE_URL names. No reference, passphrase, identity or narrative is printed.

    .venv/bin/python bench/bench_intake.py [--seconds 15] [--url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Date, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.casework_seed import create_staff, drop_database, fresh_database, migrated_app
from mediation import vault
from mediation.extensions import db

DATABASE = "mediation_bench_intake"
WHAT_HAPPENED = (
    "Benchmark text. The council told us in writing that our annual grant would end at the "
    "close of the month, with no consultation and no reasons given. "
) * 8
# Time inside these vault functions, wherever the services imported them from.
INSTRUMENTED = {
    "key_derivation": ("passphrase_keypair",),
    "keypair_generation": ("generate_keypair",),
    "sealing": ("seal", "seal_text", "encrypt_symmetric"),
}


def complaint(number: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "openness": ("anonymous", "confidential", "open")[number % 3],
        "respondent_body": {"name": "Marsh County Council", "type": "local_authority"},
        "breaches": [
            {"category": "funding_change", "reference": "2010 Compact, outcome 4"},
            {"category": "consultation"},
        ],
        "what_happened": WHAT_HAPPENED,
        "outcome_sought": "Three months' notice and a written reason for the decision.",
    }
    if number % 3:
        body["identity"] = {
            "organisation": f"Benchmark Community Group {number}",
            "contact_name": "Bench Contact",
            "email": f"group{number}@bench.example.org",
            "region": "north_west",
            "size_band": "small",
        }
    return body


class _Base(DeclarativeBase):
    pass


class BareComplaint(_Base):
    __tablename__ = "bench_bare_complaints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openness: Mapped[str] = mapped_column(String(20))
    body_name: Mapped[str] = mapped_column(String(200))
    document: Mapped[str] = mapped_column(Text)
    submitted_on: Mapped[date] = mapped_column(Date)


def baseline_app(database_url: str) -> tuple[Flask, SQLAlchemy]:
    """The minimal insert endpoint: parse, check a few fields, insert one row, commit."""
    import json

    bare = SQLAlchemy(model_class=_Base)
    app = Flask("bench_baseline")
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    bare.init_app(app)

    @app.post("/complaints")
    def file() -> Any:
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not data.get("what_happened") or not data.get("breaches"):
            return jsonify({"error": "incomplete"}), 422
        row = BareComplaint(
            openness=str(data.get("openness", "")),
            body_name=str((data.get("respondent_body") or {}).get("name", "")),
            document=json.dumps(data),
            submitted_on=date.today(),
        )
        bare.session.add(row)
        bare.session.commit()
        return jsonify({"id": row.id}), 201

    with app.app_context():
        _Base.metadata.create_all(bare.engine)
    return app, bare


@contextmanager
def timed_vault(totals: dict[str, float]) -> Iterator[None]:
    """Wrap the vault functions named in INSTRUMENTED in every mediation module that holds
    them, adding the time spent inside each to `totals`; unwrap on leaving."""
    replaced: list[tuple[Any, str, Any]] = []
    for category, names in INSTRUMENTED.items():
        for name in names:
            original = getattr(vault, name)

            def wrapper(*args: Any, _f: Any = original, _c: str = category, **kw: Any) -> Any:
                started = time.perf_counter()
                try:
                    return _f(*args, **kw)
                finally:
                    totals[_c] += time.perf_counter() - started

            for module in list(sys.modules.values()):
                name_of = getattr(module, "__name__", "")
                # Callers only: the vault's own calls to itself would be counted twice.
                if not name_of.startswith("mediation.") or name_of.startswith("mediation.vault"):
                    continue
                for attribute, value in list(vars(module).items()):
                    if value is original:
                        setattr(module, attribute, wrapper)
                        replaced.append((module, attribute, original))
    try:
        yield
    finally:
        for module, attribute, original in replaced:
            setattr(module, attribute, original)


def interleaved(
    seconds: float, ours: Callable[[int], None], theirs: Callable[[int], None], each: int
) -> tuple[int, float, int, float]:
    """One request of ours, then `each` of the baseline, over and over for `seconds` (at
    least ten of ours): both see the same machine, however busy it is meanwhile."""
    count = baseline_count = 0
    elapsed = baseline_elapsed = 0.0
    started = time.perf_counter()
    while count < 10 or time.perf_counter() - started < seconds:
        begun = time.perf_counter()
        ours(count)
        elapsed += time.perf_counter() - begun
        count += 1
        begun = time.perf_counter()
        for _ in range(each):
            theirs(baseline_count)
            baseline_count += 1
        baseline_elapsed += time.perf_counter() - begun
    return count, elapsed, baseline_count, baseline_elapsed


def sign_in_cpu(client: Any, attempts: int = 30) -> tuple[float, float]:
    """CPU time (this process, ``time.process_time``) of one complainant sign-in through
    the JSON API: with a wrong passphrase, each from a client of its own so that none is
    slowed, and with the right one. What a stranger's guess costs the server."""
    filed = client.post("/api/v1/complaints", json=complaint(1)).get_json()
    reference, passphrase = filed["reference"], filed["passphrase"]
    costs = []
    for guess, expected in (("wrong words that are not it at all", 401), (passphrase, 201)):
        started = time.process_time()
        for attempt in range(attempts):
            response = client.post(
                "/api/v1/complainant/sessions",
                json={"reference": reference, "passphrase": guess},
                environ_base={"REMOTE_ADDR": f"198.51.{attempt // 250}.{attempt % 250 + 1}"},
            )
            if response.status_code != expected:
                raise SystemExit(f"sign-in answered {response.status_code}, expected {expected}")
        costs.append((time.process_time() - started) / attempts)
    return costs[0], costs[1]


def bench_engine(engine_name: str, server_url: str | None, seconds: float) -> float:
    folder = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    database_url = fresh_database(engine_name, folder, server_url, DATABASE)
    # Both of the API's limits raised (complaints filed, and requests of any kind), so that
    # however many complaints the run files, none is refused.
    app = migrated_app(
        database_url,
        folder / "instance",
        API_RATE_LIMIT="1000000 per hour",
        API_REQUEST_LIMIT="1000000 per hour",
    )
    with app.app_context():
        for number in (1, 2):
            create_staff(db.session, "case_officer", f"officer{number}@bench.example.org")
        db.session.commit()
    ours = app.test_client()

    def post_ours(number: int) -> None:
        response = ours.post("/api/v1/complaints", json=complaint(number))
        if response.status_code != 201:
            raise SystemExit(f"intake answered {response.status_code}, expected 201")

    base, bare = baseline_app(database_url)
    theirs = base.test_client()

    def post_theirs(number: int) -> None:
        response = theirs.post("/complaints", json=complaint(number))
        if response.status_code != 201:
            raise SystemExit(f"baseline answered {response.status_code}, expected 201")

    for number in range(2):  # warm up: imports, templates, connections
        post_ours(number)
        post_theirs(number)
    totals: dict[str, float] = defaultdict(float)
    with timed_vault(totals):
        count, elapsed, baseline_count, baseline_time = interleaved(
            seconds, post_ours, post_theirs, each=10
        )
    sign_in_failed, sign_in_right = sign_in_cpu(ours)
    with base.app_context():
        bare.engine.dispose()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop_database(engine_name, server_url, DATABASE)
    shutil.rmtree(folder, ignore_errors=True)

    suffix = "" if engine_name == "sqlite" else f"_{engine_name}"
    mean, baseline_mean = elapsed / count, baseline_time / baseline_count
    print(f"# engine {engine_name}: {count} complaints filed, {baseline_count} bare inserts")
    print(f"ms intake_request{suffix} {mean * 1000:.1f}")
    print(f"ms baseline_insert_request{suffix} {baseline_mean * 1000:.2f}")
    inside = 0.0
    for category in INSTRUMENTED:
        inside += totals[category]
        print(f"ms intake_{category}{suffix} {totals[category] / count * 1000:.1f}")
    print(f"ms intake_everything_else{suffix} {(elapsed - inside) / count * 1000:.1f}")
    ratio = (count / elapsed) / (baseline_count / baseline_time)
    print(f"ms sign_in_wrong_passphrase_cpu{suffix} {sign_in_failed * 1000:.1f}")
    print(f"ms sign_in_right_passphrase_cpu{suffix} {sign_in_right * 1000:.1f}")
    print(f"ratio intake{suffix} {ratio:.4f}", flush=True)
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--url", default=os.environ.get("TEST_DATABASE_URL", ""))
    options, _ = parser.parse_known_args()
    kdf = vault.PASSPHRASE_KDF
    print(
        f"# test client, sequential; passphrase KDF Argon2id t={kdf.iterations}, "
        f"{kdf.memory_cost // 1024} MiB, {kdf.lanes} lanes (production); {os.cpu_count()} CPUs"
    )
    bench_engine("sqlite", None, options.seconds)
    if options.url.startswith("postgresql"):
        bench_engine("postgresql", options.url, options.seconds)
    else:
        print("# postgresql skipped: set TEST_DATABASE_URL or pass --url")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
