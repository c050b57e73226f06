"""The lock order every writer keeps on PostgreSQL: a case's lock, then a statement's row,
then the audit log's head. A writer that took the head (by writing an audit entry) or a
statement's row before the case lock would deadlock with one that keeps the order, or
change what another had already sent. Each test holds the case lock in one thread while
another starts, and checks that the second waits its turn."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.staff import StaffUser
from mediation.services import (
    case_keys,
    disclosure_statements,
    keyring,
    mediation_work,
    statistical_records,
)
from mediation.services.vault_admin import reseal_for_user
from tests.casework.conftest import Driver, LingeringLock, Staffed, at_once, case_by_reference
from tests.conftest import ON_POSTGRES, TEST_PASSWORD, case_officer_set_up_by_link

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="needs two connections racing on one row; set TEST_DATABASE_URL to PostgreSQL",
)

NOTE = "Written while a new custodian was being given the keys."


def actions_on(reference: str) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(AuditEntry.action)
            .where(AuditEntry.case_reference == reference)
            .order_by(AuditEntry.seq)
        ).scalars()
    )


def test_admitting_a_custodian_waits_for_a_writer_on_a_case_rather_than_deadlocking(
    app: Flask, driver: Driver, staffed: Staffed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second officer writes a note (holding the case lock, then writing its audit
    entry) while the first admits a new case officer as a custodian. Admitting takes every
    live case's lock before its own audit entry, so it waits for the note. Writing the
    entry first held the audit head while waiting on the case: a deadlock."""
    filed = driver.to("triage")
    newcomer = case_officer_set_up_by_link("newcomer@staff.example.org")
    statistical_records.current_statistics_key(db.session)
    db.session.commit()
    # Read here: the threads must not load anything through the test's own session.
    officer_id, writer_id, newcomer_id = staffed.officer.id, staffed.second_officer.id, newcomer.id
    lock = LingeringLock(monkeypatch)  # admitting starts while the note holds the lock
    results: list[int] = []

    def note() -> None:
        lock.first()
        writer = db.session.get(StaffUser, writer_id)
        assert writer is not None
        mediation_work.add_note(db.session, writer, case_by_reference(filed.reference), NOTE)

    def admit() -> None:
        custodian = db.session.get(StaffUser, officer_id)
        user = db.session.get(StaffUser, newcomer_id)
        assert custodian is not None and user is not None
        lock.wait()
        results.append(reseal_for_user(db.session, custodian, staffed.officer_key, user).cases)

    at_once(app, note, admit)

    assert results and results[0] >= 1
    assert [user.id for user, _ in case_keys.custodians(db.session)] == sorted(
        [staffed.officer.id, staffed.second_officer.id, newcomer.id]
    )
    newcomer_key = keyring.unlock(db.session, newcomer, TEST_PASSWORD)
    assert newcomer_key is not None
    case = case_by_reference(filed.reference)
    opened = case_keys.open_grant(case, case_keys.CASE_KEY, newcomer_key)
    notes = mediation_work.read_notes(db.session, case, opened)
    assert [body for _, body in notes][-1] == NOTE


def test_a_draft_is_sent_only_once_a_revision_in_progress_is_saved(
    app: Flask, driver: Driver, staffed: Staffed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One officer revises the draft (holding the case lock) while the other sends it to the
    complainant. Sending takes the case lock before the statement's row, so it waits and
    sends the revised text: the version sent is never changed after it was sent."""
    filed = driver.to("triage")
    disclosure_statements.save_draft(db.session, staffed.officer, filed.case, "First wording")
    db.session.commit()
    officer_id, sender_id = staffed.officer.id, staffed.second_officer.id
    lock = LingeringLock(monkeypatch)  # sending starts while the revision holds the lock

    def revise() -> None:
        lock.first()
        writer = db.session.get(StaffUser, officer_id)
        assert writer is not None
        case = case_by_reference(filed.reference)
        disclosure_statements.save_draft(db.session, writer, case, "Revised wording")

    def send() -> None:
        sender = db.session.get(StaffUser, sender_id)
        assert sender is not None
        case = case_by_reference(filed.reference)
        lock.wait()
        disclosure_statements.send_for_approval(db.session, sender, case)

    at_once(app, revise, send)

    actions = actions_on(filed.reference)
    drafted = [n for n, action in enumerate(actions) if action == "statement.drafted"]
    assert actions.index("statement.sent_for_approval") > drafted[-1]
    case = case_by_reference(filed.reference)
    sent = disclosure_statements.awaiting(db.session, case)
    assert sent is not None and sent.version == 1
    complainant_key = driver.complainant_key(filed)
    assert disclosure_statements.read_draft(case, sent, complainant_key) == "Revised wording"
