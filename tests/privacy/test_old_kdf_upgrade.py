"""A case filed with the heavy early passphrase parameters moves to today's at its
complainant's first successful sign-in (G11, G12): a new salt and key, everything sealed to
the old key re-sealed, nothing lost to anyone who held the case."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.cases import Case
from mediation.models.intake import ComplainantSession
from mediation.models.time import utcnow
from mediation.services import case_keys, complainant_sessions, complaints
from mediation.services.audit import Actor
from mediation.services.case_keys import CASE_KEY, NotAHolder, field_context
from mediation.vault import (
    EARLY_PASSPHRASE_KDF,
    TEST_KDF,
    KeyPair,
    VaultError,
    open_text,
    passphrase_keypair,
)
from tests import seeded
from tests.casework.conftest import Browser, Driver, Staffed, at_once, complainant_browser

STAFF_MESSAGE = "We have written to the council and will tell you what they say."
WRONG = "wrong words that are not the passphrase at all"


@pytest.fixture
def early_case(
    app: Flask, driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> Iterator[complaints.Filed]:
    """A confidential case in mediation, filed (and its statement approved) while the
    passphrase KDF was the early one, with a case officer's message to the complainant."""
    with monkeypatch.context() as early:
        early.setattr(case_keys, "passphrase_kdf", lambda: EARLY_PASSPHRASE_KDF)
        filed = driver.to("in_mediation")
    case = stored(filed.reference)
    assert case.complainant_kdf == EARLY_PASSPHRASE_KDF.to_dict()
    complaints.add_message(
        db.session, case, Actor("staff", "case_officer:test", driver.s.officer.id), STAFF_MESSAGE
    )
    db.session.commit()
    yield filed


def stored(reference: str) -> Case:
    """The case as the last request left it (a fresh transaction of the test's own)."""
    db.session.rollback()
    return db.session.execute(select(Case).where(Case.reference == reference)).scalar_one()


def early_key(case_salt: bytes, passphrase: str, suite: str) -> KeyPair:
    return passphrase_keypair(passphrase, case_salt, suite, EARLY_PASSPHRASE_KDF)


def test_signing_in_moves_the_case_to_todays_parameters_and_nobody_loses_it(
    app: Flask, early_case: complaints.Filed, staffed: Staffed
) -> None:
    reference, passphrase = early_case.reference, early_case.passphrase
    before = stored(reference)
    old_salt, old_key_id = before.complainant_salt, before.complainant_key_id
    old = early_key(old_salt, passphrase, before.complainant_suite)
    assert old.key_id == old_key_id

    browser = complainant_browser(app, reference, passphrase)
    assert STAFF_MESSAGE in browser.get("/my-complaint/").text

    case = stored(reference)
    assert case.complainant_kdf == TEST_KDF.to_dict()  # today's, in the tests
    assert case.complainant_salt != old_salt and len(case.complainant_salt) == 16
    assert case.complainant_key_id != old_key_id
    # The session the sign-in made holds the new key.
    (held,) = db.session.execute(
        select(ComplainantSession).where(ComplainantSession.case_id == case.id)
    ).scalars()
    assert held.key_id == case.complainant_key_id
    # The complainant reads their narrative and their copy of who they are.
    _, new = complaints.complainant_keypair(db.session, reference, passphrase)
    assert new.key_id == case.complainant_key_id
    case_key = complaints.complainant_case_key(case, new)
    assert complaints.read_narrative(case, case_key) == seeded.NARRATIVE
    assert case.identity_copy is not None
    copy = open_text(case.identity_copy, new, field_context(case, "identity-copy"))
    assert json.loads(copy) == seeded.IDENTITY
    # The case officer and the assigned mediator still open the case.
    for user, key in (
        (staffed.officer, staffed.officer_key),
        (staffed.mediator, staffed.mediator_key),
    ):
        opened = complaints.staff_case_key(db.session, user, key, case)
        assert complaints.read_narrative(case, opened) == seeded.NARRATIVE
    db.session.rollback()
    # The old derived key opens nothing any more.
    with pytest.raises(NotAHolder):
        case_keys.open_grant(case, CASE_KEY, old)
    with pytest.raises(VaultError):
        open_text(case.identity_copy, old, field_context(case, "identity-copy"))
    # One audit entry for the key change, naming the case and nothing of the key.
    (entry,) = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "case.complainant_key_renewed")
    ).scalars()
    assert entry.case_reference == reference and entry.actor_kind == "complainant"
    assert entry.details == {}
    salt_after = case.complainant_salt

    # A second sign-in with the same passphrase works and changes nothing more.
    again = complainant_browser(app, reference, passphrase)
    assert STAFF_MESSAGE in again.get("/my-complaint/").text
    wrong = Browser(app).post(
        "/my-complaint/sign-in", data={"reference": reference, "passphrase": WRONG}
    )
    assert wrong.status_code == 200
    assert "The case reference or passphrase is not right" in wrong.text
    assert stored(reference).complainant_salt == salt_after
    renewals = db.session.execute(
        select(AuditEntry.seq).where(AuditEntry.action == "case.complainant_key_renewed")
    ).all()
    assert len(renewals) == 1


def test_a_session_signed_in_with_the_early_key_ends_when_the_case_moves(
    app: Flask, early_case: complaints.Filed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session made while the early parameters were still today's holds the old key,
    which opens nothing once the case has moved: it is removed, and signing in again works."""
    reference, passphrase = early_case.reference, early_case.passphrase
    with monkeypatch.context() as early:
        early.setattr(case_keys, "passphrase_kdf", lambda: EARLY_PASSPHRASE_KDF)
        first = complainant_browser(app, reference, passphrase)
    assert stored(reference).complainant_kdf == EARLY_PASSPHRASE_KDF.to_dict()
    assert STAFF_MESSAGE in first.get("/my-complaint/").text

    second = complainant_browser(app, reference, passphrase)
    assert STAFF_MESSAGE in second.get("/my-complaint/").text
    gone = first.get("/my-complaint/")
    assert gone.status_code == 302 and "/my-complaint/sign-in" in gone.headers["Location"]
    assert stored(reference).complainant_kdf == TEST_KDF.to_dict()


def test_the_json_api_sign_in_moves_the_case_too(app: Flask, early_case: complaints.Filed) -> None:
    client = app.test_client()
    response = client.post(
        "/api/v1/complainant/sessions",
        json={"reference": early_case.reference, "passphrase": early_case.passphrase},
    )
    assert response.status_code == 201, response.text
    auth = {"Authorization": f"Bearer {response.json['token']}"}
    complaint = client.get("/api/v1/complainant/complaint", headers=auth)
    assert complaint.status_code == 200
    assert STAFF_MESSAGE in json.dumps(complaint.json)
    assert stored(early_case.reference).complainant_kdf == TEST_KDF.to_dict()


def test_two_sign_ins_at_once_move_the_case_once_and_both_hold_its_key(
    app: Flask, early_case: complaints.Filed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both check the passphrase against the early key; the second to take the case lock
    finds the case moved, and derives the key again with the new salt."""
    barrier = threading.Barrier(2)
    checked = complaints.complainant_keypair

    def both_checked(*args: Any) -> tuple[Case, KeyPair]:
        found = checked(*args)
        barrier.wait(30)
        return found

    monkeypatch.setattr(complaints, "complainant_keypair", both_checked)

    def sign_in(address: str) -> Callable[[], None]:
        def work() -> None:
            complainant_sessions.sign_in(
                db.session, early_case.reference, early_case.passphrase, address, utcnow()
            )

        return work

    at_once(app, sign_in("198.51.100.7"), sign_in("198.51.100.8"))

    case = stored(early_case.reference)
    assert case.complainant_kdf == TEST_KDF.to_dict()
    held = db.session.execute(
        select(ComplainantSession.key_id).where(ComplainantSession.case_id == case.id)
    ).scalars()
    assert list(held) == [case.complainant_key_id] * 2
    renewals = db.session.execute(
        select(AuditEntry.seq).where(AuditEntry.action == "case.complainant_key_renewed")
    ).all()
    assert len(renewals) == 1
