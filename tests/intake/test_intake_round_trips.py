"""Filing through the API is one transaction, committed once, that writes what it must and
reads back nothing it has just written (issue 21: intake's cost in round trips)."""

from __future__ import annotations

import re
from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from mediation.domain import clocks
from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.casework import CaseClock, Notification
from mediation.services import audit, case_keys, complaints
from tests.conftest import StaffLogin, case_officer_set_up_by_link, counted
from tests.intake.test_api import EXAMPLE

# Tables the intake writes and has no reason to read: each was read back at least once
# before (a case's grants, clocks and statistical record, the audit head).
NOT_READ = ("sealed_keys", "case_clocks", "statistical_records", "audit_head", "audit_entries")


def test_filing_commits_once_and_reads_back_nothing_it_wrote(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    commits: list[object] = []

    def note_commit(connection: object) -> None:
        commits.append(connection)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", note_commit)
    try:
        with counted(app) as statements:
            response = client.post("/api/v1/complaints", json=EXAMPLE)
    finally:
        event.remove(engine, "commit", note_commit)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "submitted" and body["submitted_on"] == date.today().isoformat()
    # One commit: the answer is built from what the request wrote, not from a second
    # transaction reading the case again.
    assert len(commits) == 1
    inserted = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO cases"))
    after = statements[inserted + 1 :]
    assert not [s for s in after if re.match(r"SELECT\b.*\bFROM cases\b", s, re.DOTALL)]
    for table in NOT_READ:
        assert not [s for s in statements if re.match(rf"SELECT\b.*\bFROM {table}\b", s, re.DOTALL)]
    assert sum(s.startswith("UPDATE audit_head SET last_seq") for s in statements) == 1
    # 14 on PostgreSQL (rows of one table in one INSERT); SQLite inserts a row at a time.
    assert len(statements) <= 20, statements

    with app.app_context():
        case = complaints.find_case(db.session, body["reference"])
        assert case is not None
        rows = db.session.execute(
            select(CaseClock).where(CaseClock.case_id == case.id).order_by(CaseClock.id)
        ).scalars()
        started = [(r.kind, r.started_on, r.due_on, r.paused_on) for r in rows]
        expected = [
            clocks.start(kind, case.submitted_on) for kind in (clocks.ACKNOWLEDGE, clocks.FEEDBACK)
        ]
        assert started == [(c.kind, c.started_on, c.due_on, None) for c in expected]
        nearest = min(expected, key=lambda c: c.due_on)
        assert (case.next_deadline_on, case.next_deadline_kind) == (nearest.due_on, nearest.kind)
        actions = db.session.execute(
            select(AuditEntry.action)
            .where(AuditEntry.case_reference == case.reference)
            .order_by(AuditEntry.seq)
        ).scalars()
        assert list(actions) == ["case.submitted", "case.intake_received"]
        assert audit.verify(db.session).ok


def test_one_read_of_the_case_officers_seals_to_custodians_and_tells_them_all(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    """The case officers are read once for both uses: the case is sealed to the custodians
    only, and every active case officer (admitted or not) is told it has arrived."""
    with app.app_context():
        newcomer = case_officer_set_up_by_link("newcomer@staff.example.org").id
    response = client.post("/api/v1/complaints", json=EXAMPLE)
    assert response.status_code == 201
    with app.app_context():
        case = complaints.find_case(db.session, response.get_json()["reference"])
        assert case is not None
        sealed_to = {
            (grant.key_kind, grant.holder_user_id)
            for grant in case.grants
            if grant.holder_kind == case_keys.STAFF
        }
        assert sealed_to == {(case_keys.CASE_KEY, officer.id), (case_keys.IDENTITY_KEY, officer.id)}
        told = db.session.execute(
            select(Notification.recipient_user_id).where(
                Notification.link_path == f"/casework/cases/{case.reference}",
                Notification.topic == "new_case",
            )
        ).scalars()
        assert sorted(told) == sorted([officer.id, newcomer])
