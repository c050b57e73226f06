"""Writers racing on one case, each on its own connection (PostgreSQL row locks): a message
sealed while `vault rotate` replaces the case's keys waits and is sealed to the new key;
two messages at once both land; two officers approving one identity request at once
disclose it once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from flask import Flask

from mediation.extensions import db
from mediation.models.cases import Case, IdentityRequest
from mediation.models.staff import StaffUser
from mediation.services import (
    complaints,
    disclosure_statements,
    identity_access,
    settings,
)
from mediation.services.audit import Actor
from mediation.services.errors import InvalidInput
from mediation.services.vault_admin import rotate
from mediation.vault import KeyPair
from tests import seeded
from tests.casework.conftest import Driver, LingeringLock, Staffed, at_once, case_by_reference
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="needs two connections racing on one row; set TEST_DATABASE_URL to PostgreSQL",
)

LATE_MESSAGE = "Sent while the keys were being rotated: it must stay readable."


def messages_read_by_the_officer(staffed: Staffed, case_id: int) -> list[str]:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case is not None
    opened = complaints.staff_case_key(db.session, staffed.officer, staffed.officer_key, case)
    return [body for _, body in complaints.read_messages(db.session, case, opened)]


def test_a_message_added_during_rotation_is_sealed_to_the_new_key(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.file()
    old_key_id = filed.case.case_key_id
    officer_id = staffed.officer.id  # read here: threads load nothing through this session
    loaded = threading.Event()
    rotated = threading.Event()

    def rotation() -> None:
        officer = db.session.get(StaffUser, officer_id)
        assert officer is not None
        loaded.wait(30)
        try:
            rotate(db.session, officer, staffed.officer_key, "x25519")
            db.session.flush()
        finally:
            rotated.set()
        time.sleep(1.0)  # the message below is waiting on the case lock meanwhile

    def message() -> None:
        # The case, with its old public key, is read before the rotation starts.
        case = case_by_reference(filed.reference)
        assert case.case_key_id == old_key_id
        loaded.set()
        rotated.wait(30)
        complaints.add_message(db.session, case, Actor.complainant(), LATE_MESSAGE)

    at_once(app, rotation, message)

    assert LATE_MESSAGE in messages_read_by_the_officer(staffed, filed.case.id)
    case = db.session.get(Case, filed.case.id)
    assert case is not None and case.case_key_id != old_key_id
    opened = complaints.staff_case_key(db.session, staffed.officer, staffed.officer_key, case)
    assert complaints.read_narrative(case, opened) == seeded.NARRATIVE


def test_two_messages_on_one_case_at_once_both_land(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    """Each takes the case lock and then inserts its message (a KEY SHARE lock on the
    case): FOR NO KEY UPDATE queues the two, and does not block a writer that inserts a
    row for the case while another holds the lock (FOR UPDATE would, and two writers that
    insert before locking would deadlock)."""
    filed = driver.file()
    barrier = threading.Barrier(2)

    def send(text: str) -> Callable[[], None]:
        def work() -> None:
            case = case_by_reference(filed.reference)
            barrier.wait(30)
            complaints.add_message(db.session, case, Actor.complainant(), text)

        return work

    at_once(app, send("Message 1"), send("Message 2"))

    assert {"Message 1", "Message 2"} <= set(messages_read_by_the_officer(staffed, filed.case.id))


def test_two_officers_approving_at_once_make_one_disclosure(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    """With two approvals required, both at the same moment: each decision sees the other,
    so the request is approved (not left waiting for a third) and disclosed once."""
    settings.change_setting(db.session, Actor.system("test"), "identity_approvals_required", 2)
    case = driver.file().case
    identity_access.assign_mediator(
        db.session, staffed.officer, staffed.officer_key, case, staffed.mediator
    )
    request = identity_access.request_identity(
        db.session, staffed.mediator, case, "Need the contact to arrange the session"
    )
    db.session.commit()
    request_id = request.id  # read here: threads load nothing through this session
    barrier = threading.Barrier(2)

    def approve(officer_id: int, key: KeyPair) -> Callable[[], None]:
        def work() -> None:
            officer = db.session.get(StaffUser, officer_id)
            loaded = db.session.get(IdentityRequest, request_id)
            assert officer is not None and loaded is not None and loaded.decisions == []
            barrier.wait(30)
            identity_access.decide_identity_request(
                db.session,
                officer,
                key,
                request_id,
                approve=True,
                reason="Approved after reading the request",
            )

        return work

    at_once(
        app,
        approve(staffed.officer.id, staffed.officer_key),
        approve(staffed.second_officer.id, staffed.second_key),
    )

    db.session.expire_all()
    decided = db.session.get(IdentityRequest, request.id)
    assert decided is not None and decided.status == "approved"
    assert len(decided.decisions) == 2


def test_two_officers_drafting_one_statement_at_once_make_one_draft(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    """Each takes the case lock before looking for the draft in progress, so the second
    revises the first's draft rather than numbering a second version 1 beside it."""
    filed = driver.to("triage")
    barrier = threading.Barrier(2)

    def draft(officer_id: int, text: str) -> Callable[[], None]:
        def work() -> None:
            officer = db.session.get(StaffUser, officer_id)
            case = case_by_reference(filed.reference)
            assert officer is not None
            barrier.wait(30)
            disclosure_statements.save_draft(db.session, officer, case, text)

        return work

    at_once(
        app,
        draft(staffed.officer.id, "First officer's statement"),
        draft(staffed.second_officer.id, "Second officer's statement"),
    )

    db.session.expire_all()
    case = case_by_reference(filed.reference)
    drafts = disclosure_statements.statements(db.session, case)
    assert [(row.version, row.status) for row in drafts] == [(1, "draft")]


def test_a_change_request_racing_a_new_draft_waits_for_it_and_is_told_clearly(
    app: Flask, driver: Driver, staffed: Staffed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The officer saves a new draft (holding the case lock, then superseding the version
    sent) while the complainant asks for changes to that version. The complainant takes
    the case lock before touching the statement's row, so they wait, then read the row
    again and are told it is no longer waiting for them. Taking the row first (as this
    did) deadlocked the two on PostgreSQL."""
    filed = driver.to("triage")
    disclosure_statements.save_draft(db.session, staffed.officer, filed.case, "Version one")
    sent = disclosure_statements.send_for_approval(db.session, staffed.officer, filed.case)
    db.session.commit()
    complainant_key = driver.complainant_key(filed)
    # Read here: the threads must not load anything through the test's own session.
    officer_id, sent_id = staffed.officer.id, sent.id
    lock = LingeringLock(monkeypatch)  # the complainant starts while the officer holds it
    refusals: list[str] = []

    def officer() -> None:
        lock.first()
        person = db.session.get(StaffUser, officer_id)
        assert person is not None
        case = case_by_reference(filed.reference)
        disclosure_statements.save_draft(db.session, person, case, "Version two")

    def complainant() -> None:
        case = case_by_reference(filed.reference)
        lock.wait()
        try:
            disclosure_statements.complainant_decides(
                db.session,
                case,
                complainant_key,
                sent_id,
                approve=False,
                shown_digest=disclosure_statements.digest("Version one"),
                change_request="Please say the grant was cut, not paused.",
            )
        except InvalidInput as exc:
            db.session.rollback()
            refusals.append(exc.message)

    at_once(app, officer, complainant)

    assert refusals == ["This version is no longer waiting for your answer."]
    db.session.expire_all()
    versions = disclosure_statements.statements(db.session, case_by_reference(filed.reference))
    assert [(row.version, row.status) for row in versions] == [(1, "superseded"), (2, "draft")]
