"""`vault rotate` while people keep working: a message sealed while rotation replaces the
case's keys waits for it and is sealed to the new key, so nothing becomes unreadable
(PostgreSQL row locks; SQLite takes its whole-database write lock the same way)."""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.services import complaints
from mediation.services.audit import Actor
from mediation.services.vault_admin import rotate
from tests import seeded
from tests.casework.conftest import Driver, Staffed
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="needs two connections racing on one row; set TEST_DATABASE_URL to PostgreSQL",
)

LATE_MESSAGE = "Sent while the keys were being rotated: it must stay readable."


def test_a_message_added_during_rotation_is_sealed_to_the_new_key(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.file()
    db.session.commit()
    old_key_id = filed.case.case_key_id
    loaded = threading.Event()
    rotated = threading.Event()
    errors: list[BaseException] = []

    def rotation() -> None:
        with app.app_context():
            try:
                officer = db.session.get(StaffUser, staffed.officer.id)
                assert officer is not None
                loaded.wait(30)
                rotate(db.session, officer, staffed.officer_key, "x25519")
                db.session.flush()
                rotated.set()
                time.sleep(1.0)  # the message below is waiting on the case lock meanwhile
                db.session.commit()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                rotated.set()
            finally:
                db.session.remove()

    def message() -> None:
        with app.app_context():
            try:
                # The case, with its old public key, is read before the rotation starts.
                case = db.session.execute(
                    select(Case).where(Case.reference == filed.reference)
                ).scalar_one()
                assert case.case_key_id == old_key_id
                loaded.set()
                rotated.wait(30)
                complaints.add_message(db.session, case, Actor.complainant(), LATE_MESSAGE)
                db.session.commit()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=rotation), threading.Thread(target=message)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors

    db.session.expire_all()
    case = db.session.get(Case, filed.case.id)
    assert case is not None and case.case_key_id != old_key_id
    opened = complaints.staff_case_key(db.session, staffed.officer, staffed.officer_key, case)
    bodies = [body for _, body in complaints.read_messages(db.session, case, opened)]
    assert LATE_MESSAGE in bodies
    assert complaints.read_narrative(case, opened) == seeded.NARRATIVE


def test_two_messages_on_one_case_at_once_both_land(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    """Each inserts its message (a KEY SHARE lock on the case) and then takes the case lock:
    FOR UPDATE there would deadlock the two; FOR NO KEY UPDATE queues them."""
    filed = driver.file()
    db.session.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def send(text: str) -> None:
        with app.app_context():
            try:
                case = db.session.execute(
                    select(Case).where(Case.reference == filed.reference)
                ).scalar_one()
                barrier.wait(30)
                complaints.add_message(db.session, case, Actor.complainant(), text)
                db.session.commit()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send, args=(f"Message {n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    db.session.expire_all()
    case = db.session.get(Case, filed.case.id)
    assert case is not None
    opened = complaints.staff_case_key(db.session, staffed.officer, staffed.officer_key, case)
    bodies = {body for _, body in complaints.read_messages(db.session, case, opened)}
    assert {"Message 1", "Message 2"} <= bodies


def test_two_officers_approving_at_once_make_one_disclosure(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    """With two approvals required, both at the same moment: each decision sees the other,
    so the request is approved (not left waiting for a third) and disclosed once."""
    from mediation.models.cases import IdentityRequest
    from mediation.services import identity_access, settings

    settings.change_setting(db.session, Actor.system("test"), "identity_approvals_required", 2)
    filed = driver.file()
    case = filed.case
    identity_access.assign_mediator(
        db.session, staffed.officer, staffed.officer_key, case, staffed.mediator
    )
    request = identity_access.request_identity(
        db.session, staffed.mediator, case, "Need the contact to arrange the session"
    )
    db.session.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def approve(officer_id: int, key: object) -> None:
        with app.app_context():
            try:
                officer = db.session.get(StaffUser, officer_id)
                loaded = db.session.get(IdentityRequest, request.id)
                assert officer is not None and loaded is not None and loaded.decisions == []
                barrier.wait(30)
                identity_access.decide_identity_request(
                    db.session,
                    officer,
                    key,  # type: ignore[arg-type]
                    request.id,
                    approve=True,
                    reason="Approved after reading the request",
                )
                db.session.commit()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=approve, args=(staffed.officer.id, staffed.officer_key)),
        threading.Thread(target=approve, args=(staffed.second_officer.id, staffed.second_key)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    db.session.expire_all()
    decided = db.session.get(IdentityRequest, request.id)
    assert decided is not None and decided.status == "approved"
    assert len(decided.decisions) == 2
