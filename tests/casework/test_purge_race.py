"""The retention purge against writers on the same case: it takes the case lock, so a
message sent as a case's retention ends is either destroyed with the case or refused with a
clear message, never left sealed to destroyed keys; and a case reopened, or purged by
another run, after the purge listed it is left alone."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.cases import Case, CaseDocument, CaseMessage
from mediation.models.casework import CaseNote
from mediation.models.staff import StaffUser
from mediation.services import case_keys, complaints, disclosure_statements, mediation_work
from mediation.services.audit import Actor
from mediation.services.errors import InvalidInput, NotAllowed
from mediation.services.intake import attach_document
from mediation.services.intake_documents import Upload
from mediation.services.vault_admin import purge_expired
from mediation.services.workflow import perform
from tests import seeded
from tests.casework.conftest import Driver, LingeringLock, Staffed, at_once, case_by_reference
from tests.conftest import ON_POSTGRES

needs_row_locks = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="needs two connections racing on one row; set TEST_DATABASE_URL to PostgreSQL",
)

LATE_MESSAGE = "Sent as the case's retention ended: it must not outlive the case's keys."
DESTROYED = "This case is closed and its records have been destroyed."


def expired(driver: Driver) -> complaints.Filed:
    """A closed case, closed long enough ago for the purge to destroy it."""
    filed = driver.to("closed")
    filed.case.closed_on = date.today() - timedelta(days=800)
    db.session.commit()
    return filed


def contest(reference: str) -> None:
    """The complainant contests the closure: the case is no longer closed."""
    case = case_by_reference(reference)
    perform(
        db.session,
        case,
        "contest_closure",
        Actor.complainant(),
        role="complainant",
        fields={"reason": "The agreement was never kept"},
    )


def destructions(reference: str) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "case.keys_destroyed", AuditEntry.case_reference == reference)
    ).scalar_one()


def message_bodies(case_id: int) -> list[bytes | None]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(CaseMessage.body).where(CaseMessage.case_id == case_id).order_by(CaseMessage.id)
        ).scalars()
    )


def assert_kept(staffed: Staffed, case_id: int) -> None:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case is not None
    assert case.state == "closure_contested" and case.keys_destroyed_on is None
    opened = complaints.staff_case_key(db.session, staffed.officer, staffed.officer_key, case)
    assert complaints.read_narrative(case, opened) == seeded.NARRATIVE


@needs_row_locks
def test_a_message_sent_while_its_case_is_purged_is_refused_clearly(
    app: Flask, driver: Driver
) -> None:
    filed = expired(driver)
    before = len(message_bodies(filed.case.id))
    loaded = threading.Event()
    purged = threading.Event()
    refusals: list[str] = []

    def purge() -> None:
        loaded.wait(30)
        try:
            assert purge_expired(db.session) == [filed.reference]
            db.session.flush()
        finally:
            purged.set()
        time.sleep(1.0)  # the message below is waiting on the case lock meanwhile

    def message() -> None:
        # The case, with its public key, is read before the purge starts.
        case = case_by_reference(filed.reference)
        assert case.case_public_key is not None
        loaded.set()
        purged.wait(30)
        try:
            complaints.add_message(db.session, case, Actor.complainant(), LATE_MESSAGE)
        except NotAllowed as exc:
            db.session.rollback()  # as the web layer does with a refusal
            refusals.append(exc.message)

    at_once(app, purge, message)

    assert refusals == [DESTROYED]
    assert message_bodies(filed.case.id) == [None] * before
    assert destructions(filed.reference) == 1


@needs_row_locks
def test_a_message_sent_as_the_purge_starts_is_destroyed_with_the_case(
    app: Flask, driver: Driver
) -> None:
    filed = expired(driver)
    before = len(message_bodies(filed.case.id))
    sent = threading.Event()

    def message() -> None:
        case = case_by_reference(filed.reference)
        try:
            complaints.add_message(db.session, case, Actor.complainant(), LATE_MESSAGE)
            db.session.flush()
        finally:
            sent.set()
        time.sleep(1.0)  # the purge below is waiting on the case lock meanwhile

    def purge() -> None:
        sent.wait(30)
        assert purge_expired(db.session) == [filed.reference]

    at_once(app, message, purge)

    assert message_bodies(filed.case.id) == [None] * (before + 1)
    case = db.session.get(Case, filed.case.id)
    assert case is not None and case.keys_destroyed_on == date.today()


@needs_row_locks
def test_two_purges_at_once_destroy_a_case_once(app: Flask, driver: Driver) -> None:
    filed = expired(driver)
    first_done = threading.Event()
    second: list[list[str]] = []

    def first() -> None:
        try:
            assert purge_expired(db.session) == [filed.reference]
            db.session.flush()
        finally:
            first_done.set()
        time.sleep(1.0)  # the second purge lists the case, then waits on its lock

    def then_second() -> None:
        first_done.wait(30)
        second.append(purge_expired(db.session))

    at_once(app, first, then_second)

    assert second == [[]]
    assert destructions(filed.reference) == 1


@needs_row_locks
def test_a_case_reopened_while_the_purge_waits_is_kept(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = expired(driver)
    contested = threading.Event()
    results: list[list[str]] = []

    def reopen() -> None:
        try:
            contest(filed.reference)
            db.session.flush()
        finally:
            contested.set()
        time.sleep(1.0)  # the purge lists the case, still closed, then waits on its lock

    def purge() -> None:
        contested.wait(30)
        results.append(purge_expired(db.session))

    at_once(app, reopen, purge)

    assert results == [[]]
    assert_kept(staffed, filed.case.id)
    assert destructions(filed.reference) == 0


def test_purge_keeps_a_case_reopened_after_it_was_listed(
    app: Flask, driver: Driver, staffed: Staffed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On either engine: the complainant contests the closure, on a connection of their
    own, after the purge listed the case and before it took the case's lock. The case is
    read again under the lock and kept; the other due case is destroyed as usual."""
    due = expired(driver)
    reopened = expired(driver)
    real_lock = case_keys.lock_case
    interrupted: list[str] = []

    def reopen_first(session: Session, case: Case) -> Case:
        if not interrupted:
            interrupted.append(case.reference)
            with app.app_context():
                contest(reopened.reference)
                db.session.commit()
                db.session.remove()
        return real_lock(session, case)

    monkeypatch.setattr(case_keys, "lock_case", reopen_first)
    assert purge_expired(db.session) == [due.reference]
    db.session.commit()

    assert interrupted == [due.reference]  # the purge locked the cases, in id order
    assert_kept(staffed, reopened.case.id)
    assert destructions(reopened.reference) == 0
    assert destructions(due.reference) == 1


def test_purge_skips_a_case_another_purge_destroyed_after_it_was_listed(
    app: Flask, driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On either engine: a second run (cron overlapping a manual one, say) destroys the
    case on its own connection between this run's listing and its lock: this run finds
    the keys already destroyed under the lock and records nothing more."""
    filed = expired(driver)
    real_lock = case_keys.lock_case
    other_run: list[list[str]] = []

    def purge_elsewhere_first(session: Session, case: Case) -> Case:
        if not other_run:
            other_run.append([])
            with app.app_context():
                other_run[0] = purge_expired(db.session)
                db.session.commit()
                db.session.remove()
        return real_lock(session, case)

    monkeypatch.setattr(case_keys, "lock_case", purge_elsewhere_first)
    assert purge_expired(db.session) == []
    db.session.commit()

    assert other_run == [[filed.reference]]
    assert destructions(filed.reference) == 1


@pytest.mark.parametrize("what", ["message", "note", "document"])
def test_a_writing_refused_because_its_case_was_purged_leaves_no_row(
    app: Flask, driver: Driver, staffed: Staffed, what: str
) -> None:
    """On either engine: the writer's copy of the case still shows its key when another
    connection purges it. The writer takes the case lock before adding its row, so the
    refusal leaves nothing in its transaction (a caller that committed after catching it
    would otherwise keep an empty message, note or document)."""
    filed = expired(driver)
    stale = case_by_reference(filed.reference)
    assert stale.case_public_key is not None
    rows = {"message": CaseMessage, "note": CaseNote, "document": CaseDocument}[what]
    before = db.session.execute(
        select(func.count()).select_from(rows).where(rows.case_id == filed.case.id)
    ).scalar_one()
    with app.app_context():  # a connection of its own
        assert purge_expired(db.session) == [filed.reference]
        db.session.commit()
        db.session.remove()

    with pytest.raises(NotAllowed, match="destroyed"):
        if what == "message":
            complaints.add_message(db.session, stale, Actor.complainant(), LATE_MESSAGE)
        elif what == "note":
            mediation_work.add_note(db.session, staffed.officer, stale, LATE_MESSAGE)
        else:
            attach_document(
                db.session,
                stale,
                Upload("late.txt", LATE_MESSAGE.encode()),
                uploaded_by="complainant",
            )

    db.session.flush()
    after = db.session.execute(
        select(func.count()).select_from(rows).where(rows.case_id == filed.case.id)
    ).scalar_one()
    assert after == before


@needs_row_locks
def test_a_message_to_both_parties_as_the_purge_runs_is_refused_not_deadlocked(
    app: Flask, driver: Driver, staffed: Staffed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The purge holds the case's lock and is about to write its audit entry when the
    officer writes to both parties. The officer takes the case lock before the audit log's
    head, as the purge does, so they wait and are refused clearly. Writing the public
    body's copy (and its audit entry) first deadlocked the two on PostgreSQL."""
    filed = expired(driver)
    assert disclosure_statements.approved(db.session, filed.case) is not None
    officer_id = staffed.officer.id  # read here: threads load nothing through this session
    lock = LingeringLock(monkeypatch)  # the officer starts writing while the purge holds it
    refusals: list[str] = []

    def purge() -> None:
        lock.first()
        assert purge_expired(db.session) == [filed.reference]

    def write_to_both() -> None:
        case = case_by_reference(filed.reference)
        officer = db.session.get(StaffUser, officer_id)
        assert officer is not None
        lock.wait()
        try:
            mediation_work.send_message(db.session, officer, case, "both", LATE_MESSAGE)
        except (InvalidInput, NotAllowed) as exc:
            db.session.rollback()
            refusals.append(exc.message)

    at_once(app, purge, write_to_both)

    assert refusals == [DESTROYED]
    assert destructions(filed.reference) == 1
