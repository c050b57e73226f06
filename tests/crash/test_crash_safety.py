"""1,000 complaints filed through gunicorn while its workers are killed with SIGKILL at random:
every acknowledged complaint is complete and readable, and no case is half written."""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from mediation import PROJECT_ROOT
from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.cases import Case
from mediation.models.intake import CaseBreach
from mediation.models.staff import StaffUser
from mediation.models.statistics import StatisticalRecord
from mediation.services import audit, case_keys, complaints, keyring
from mediation.vault import open_text
from tests.conftest import TEST_PASSWORD, StaffFactory
from tests.test_production import free_port

SUBMISSIONS = 1_000
CLIENTS = 4
WORKERS = 3
MARKER = "crash-test complaint #"


@dataclass
class Outcome:
    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: dict[int, tuple[str, str]] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)
    dropped: int = 0
    kills: int = 0


def complaint(number: int, body_id: int) -> dict[str, Any]:
    filed: dict[str, Any] = {
        "openness": "confidential" if number % 2 else "anonymous",
        "respondent_body": {"id": body_id},
        "breaches": [{"category": "funding_change"}, {"category": "consultation"}],
        "what_happened": f"{MARKER}{number}: the grant was cut with two weeks' notice.",
        "outcome_sought": "Three months' notice and a written reason.",
    }
    if number % 2:
        filed["identity"] = {
            "organisation": f"Crash Test Trust {number}",
            "contact_name": "A Person",
            "email": f"trust{number}@example.org",
            "region": "london",
            "size_band": "small",
        }
    return filed


def submit(port: int, numbers: list[int], body_id: int, outcome: Outcome) -> None:
    for number in numbers:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request(
                "POST",
                "/api/v1/complaints",
                body=json.dumps(complaint(number, body_id)),
                headers={"Content-Type": "application/json", "Connection": "close"},
            )
            response = connection.getresponse()
            body = response.read()
            connection.close()
        except (OSError, http.client.HTTPException):
            with outcome.lock:
                outcome.dropped += 1  # the worker died with the request: never acknowledged
            continue
        with outcome.lock:
            if response.status == 201:
                answer = json.loads(body)
                outcome.acknowledged[number] = (answer["reference"], answer["passphrase"])
            else:
                outcome.refused[number] = f"{response.status} {body[:200]!r}"


def workers_of(master: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            children.append(int(entry.name))
    return children


def kill_workers(master: int, stop: threading.Event, outcome: Outcome) -> None:
    """SIGKILL a random worker every 5 to 25 answered submissions: paced by progress rather
    than by the clock, so that a slow machine (where a new worker takes seconds to boot)
    still files every complaint, and every phase of a request gets hit."""
    rng = random.Random(1)
    next_kill = rng.randint(5, 25)
    while not stop.wait(0.01):
        with outcome.lock:
            answered = len(outcome.acknowledged) + len(outcome.refused) + outcome.dropped
        if answered < next_kill:
            continue
        workers = workers_of(master)
        if not workers:
            continue
        try:
            os.kill(rng.choice(workers), signal.SIGKILL)
        except ProcessLookupError:
            continue
        outcome.kills += 1
        next_kill = answered + rng.randint(5, 25)


def start_gunicorn(config: dict[str, Any], port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CRASH_TEST_CONFIG": json.dumps(config)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "--preload",
            "-w",
            str(WORKERS),
            "-b",
            f"127.0.0.1:{port}",
            "tests.crash.wsgi:app",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()  # never left to the collector (a ResourceWarning fails the run)
    server.kill()
    raise AssertionError("gunicorn did not start")


def test_killed_workers_lose_no_acknowledged_complaint_and_leave_no_half_case(
    app: Flask, app_config: dict[str, Any], make_staff: StaffFactory
) -> None:
    officer = make_staff("case_officer")
    with app.app_context():
        body_id = make_staff.body("Marsh County Council")
        db.session.commit()
    config = {
        key: value for key, value in app_config.items() if key not in {"SERVER_NAME", "TESTING"}
    }
    config.update(RATELIMIT_ENABLED=False, VAULT_KDF_PROFILE="test")
    port = free_port()
    server = start_gunicorn(config, port)
    outcome = Outcome()
    stop = threading.Event()
    killer = threading.Thread(target=kill_workers, args=(server.pid, stop, outcome))
    numbers = list(range(1, SUBMISSIONS + 1))
    clients = [
        threading.Thread(target=submit, args=(port, numbers[i::CLIENTS], body_id, outcome))
        for i in range(CLIENTS)
    ]
    started = time.monotonic()
    try:
        killer.start()
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=600)
    finally:
        stop.set()
        killer.join()
        server.terminate()
        server.wait(timeout=30)
    elapsed = time.monotonic() - started
    print(
        f"\ncrash test: {SUBMISSIONS} submitted in {elapsed:.0f} s, {outcome.kills} workers "
        f"killed, {len(outcome.acknowledged)} acknowledged, {outcome.dropped} dropped, "
        f"{len(outcome.refused)} refused"
    )
    assert not outcome.refused, f"answers other than 201: {list(outcome.refused.items())[:5]}"
    assert outcome.kills >= 30, "too few workers were killed to prove anything"
    assert outcome.dropped > 0, "no request was caught by a kill: the test proved nothing"
    assert len(outcome.acknowledged) >= SUBMISSIONS // 2
    assert len(outcome.acknowledged) + outcome.dropped == SUBMISSIONS

    with app.app_context():
        session = db.session
        user = session.get(StaffUser, officer.id)
        assert user is not None
        officer_key = keyring.unlock(session, user, TEST_PASSWORD)
        assert officer_key is not None
        cases = list(session.execute(select(Case).order_by(Case.id)).scalars())
        found: dict[int, Case] = {}
        for case in cases:
            # Every case in the database is whole, acknowledged or not.
            narrative = complaints.read_narrative(
                case, complaints.staff_case_key(session, user, officer_key, case)
            )
            assert MARKER in narrative, case.reference
            number = int(narrative.split(MARKER, 1)[1].split(":", 1)[0])
            assert number not in found, f"complaint {number} was filed twice"
            found[number] = case
            breaches = session.execute(
                select(func.count()).select_from(CaseBreach).where(CaseBreach.case_id == case.id)
            ).scalar_one()
            assert breaches == 2, case.reference
            record = session.execute(
                select(StatisticalRecord).where(StatisticalRecord.case_id == case.id)
            ).scalar_one()
            assert record.sealed, case.reference
            if case.openness == "confidential":
                identity_key = case_keys.open_grant(case, case_keys.IDENTITY_KEY, officer_key)
                assert case.identity is not None
                identity = json.loads(
                    open_text(
                        case.identity, identity_key, case_keys.field_context(case, "identity")
                    )
                )
                assert identity["organisation"] == f"Crash Test Trust {number}"
            actions = sorted(
                session.execute(
                    select(AuditEntry.action).where(
                        AuditEntry.case_reference == case.reference,
                        AuditEntry.action.in_(["case.submitted", "case.intake_received"]),
                    )
                ).scalars()
            )
            assert actions == ["case.intake_received", "case.submitted"], case.reference
        # Every acknowledged complaint is there, and its passphrase opens it.
        for number, (reference, passphrase) in outcome.acknowledged.items():
            assert number in found, f"acknowledged complaint {number} ({reference}) was lost"
            case, key = complaints.complainant_keypair(session, reference, passphrase)
            assert case.id == found[number].id
            narrative = complaints.read_narrative(case, complaints.complainant_case_key(case, key))
            assert f"{MARKER}{number}:" in narrative
        assert audit.verify(session).ok
