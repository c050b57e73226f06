"""The identity vault end to end: what the database holds, who can open what, and how."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text

from mediation.extensions import db
from mediation.models.cases import Case, CaseDocument
from mediation.models.intake import ComplainantSession
from mediation.models.staff import StaffUser
from mediation.services import (
    accounts,
    complainant_portal,
    complainant_sessions,
    complaints,
    identity_access,
    keyring,
    settings,
)
from mediation.services.audit import Actor
from mediation.services.case_keys import NotAHolder
from mediation.services.complaints import UnknownCaseOrPassphrase
from mediation.services.errors import InvalidInput, NotAllowed
from mediation.services.vault_admin import purge_expired, reseal_for_user, rotate
from mediation.vault import KeyPair, TamperedCiphertext
from tests import seeded
from tests.conftest import ON_POSTGRES, TEST_PASSWORD, StaffFactory
from tests.document_files import jpeg_with_gps


@dataclass
class World:
    officer: StaffUser
    officer_key: KeyPair
    second_officer: StaffUser
    second_key: KeyPair
    mediator: StaffUser
    mediator_key: KeyPair
    other_mediator: StaffUser
    other_key: KeyPair


DOCUMENT_LIMITS = complainant_portal.CaseDocumentLimits(10**7, 50, 10**9)


def unlocked(user_id: int) -> tuple[StaffUser, KeyPair]:
    user = db.session.get(StaffUser, user_id)
    assert user is not None
    key = keyring.unlock(db.session, user, TEST_PASSWORD)
    assert key is not None
    return user, key


@pytest.fixture(params=["x25519", "mlkem768-x25519"])
def suite(request: pytest.FixtureRequest, app: Flask) -> str:
    """Every vault test runs with the classical and the hybrid post-quantum suite."""
    app.config["VAULT_SUITE"] = request.param
    return str(request.param)


@pytest.fixture
def world(app: Flask, make_staff: StaffFactory, suite: str) -> Iterator[World]:
    ids = [make_staff(role).id for role in ("case_officer", "case_officer", "mediator", "mediator")]
    with app.app_context():
        pairs = [unlocked(i) for i in ids]
        yield World(*pairs[0], *pairs[1], *pairs[2], *pairs[3])


def file_confidential() -> complaints.Filed:
    filed = seeded.file_seeded()
    db.session.commit()
    return filed


def test_staff_and_complainant_open_a_case_only_with_their_keys(world: World, suite: str) -> None:
    filed = file_confidential()
    case = filed.case
    assert case.suite == suite and world.officer_key.suite == suite
    officer_view = complaints.staff_case_key(db.session, world.officer, world.officer_key, case)
    assert complaints.read_narrative(case, officer_view) == seeded.NARRATIVE
    _, complainant = complaints.complainant_keypair(db.session, filed.reference, filed.passphrase)
    case_key = complaints.complainant_case_key(case, complainant)
    assert complaints.read_narrative(case, case_key) == seeded.NARRATIVE


def test_a_mediator_not_assigned_cannot_open_the_case(world: World) -> None:
    case = file_confidential().case
    with pytest.raises(NotAHolder):
        complaints.staff_case_key(db.session, world.mediator, world.mediator_key, case)
    db.session.commit()  # each step commits, as the request doing it would
    identity_access.assign_mediator(
        db.session, world.officer, world.officer_key, case, world.mediator
    )
    db.session.commit()
    key = complaints.staff_case_key(db.session, world.mediator, world.mediator_key, case)
    assert complaints.read_narrative(case, key) == seeded.NARRATIVE
    with pytest.raises(NotAHolder):
        complaints.staff_case_key(db.session, world.other_mediator, world.other_key, case)
    db.session.commit()
    # Re-assigning takes the key away from the first mediator.
    identity_access.assign_mediator(
        db.session, world.officer, world.officer_key, case, world.other_mediator
    )
    db.session.commit()
    with pytest.raises(NotAHolder):
        complaints.staff_case_key(db.session, world.mediator, world.mediator_key, case)


def test_identity_access_needs_a_case_officers_approval(world: World) -> None:
    case = file_confidential().case
    identity_access.assign_mediator(
        db.session, world.officer, world.officer_key, case, world.mediator
    )
    reason = "Need to arrange a joint session with the right contact"
    with pytest.raises(NotAHolder):
        identity_access.read_identity(db.session, world.mediator, world.mediator_key, case, reason)
    request = identity_access.request_identity(db.session, world.mediator, case, reason)
    with pytest.raises(NotAHolder):
        identity_access.read_identity(db.session, world.mediator, world.mediator_key, case, reason)
    with pytest.raises(NotAllowed):
        identity_access.decide_identity_request(
            db.session, world.mediator, world.mediator_key, request.id, approve=True, reason=reason
        )
    identity_access.decide_identity_request(
        db.session,
        world.officer,
        world.officer_key,
        request.id,
        approve=True,
        reason="Agreed: the mediator needs to contact them directly",
    )
    db.session.commit()
    seen = identity_access.read_identity(
        db.session, world.mediator, world.mediator_key, case, reason
    )
    assert seen["organisation"] == seeded.IDENTITY["organisation"]
    log = identity_access.disclosure_log(db.session, case)
    assert [line.what for line in log] == [
        "asked to see who complained",
        "approved a request to see who complained",
        "gave a mediator access to who complained",
        "saw who complained",
    ]
    assert all(line.why for line in log)
    assert world.mediator.name in log[-1].who


def test_two_approvals_when_the_setting_says_so(world: World) -> None:
    settings.change_setting(db.session, Actor.system("test"), "identity_approvals_required", 2)
    case = file_confidential().case
    identity_access.assign_mediator(
        db.session, world.officer, world.officer_key, case, world.mediator
    )
    request = identity_access.request_identity(
        db.session, world.mediator, case, "Need to know the contact for the session"
    )
    identity_access.decide_identity_request(
        db.session,
        world.officer,
        world.officer_key,
        request.id,
        approve=True,
        reason="First approval given after review",
    )
    assert request.status == "pending"
    with pytest.raises(InvalidInput):
        identity_access.decide_identity_request(
            db.session,
            world.officer,
            world.officer_key,
            request.id,
            approve=True,
            reason="Trying to approve twice myself",
        )
    identity_access.decide_identity_request(
        db.session,
        world.second_officer,
        world.second_key,
        request.id,
        approve=True,
        reason="Second approval given after review",
    )
    assert request.status == "approved"


def test_refused_request_discloses_nothing(world: World) -> None:
    case = file_confidential().case
    identity_access.assign_mediator(
        db.session, world.officer, world.officer_key, case, world.mediator
    )
    request = identity_access.request_identity(
        db.session, world.mediator, case, "Would like to know who they are"
    )
    identity_access.decide_identity_request(
        db.session,
        world.officer,
        world.officer_key,
        request.id,
        approve=False,
        reason="Not needed for this stage of mediation",
    )
    with pytest.raises(NotAHolder):
        identity_access.read_identity(
            db.session, world.mediator, world.mediator_key, case, "Trying anyway after refusal"
        )


def test_wrong_passphrase_and_unknown_reference_get_the_same_refusal(world: World) -> None:
    filed = file_confidential()
    with pytest.raises(UnknownCaseOrPassphrase) as wrong:
        complaints.complainant_keypair(db.session, filed.reference, "not the right words at all")
    with pytest.raises(UnknownCaseOrPassphrase) as unknown:
        complaints.complainant_keypair(db.session, "CM-ZZZZ-ZZZZ", filed.passphrase)
    assert str(wrong.value) == str(unknown.value)
    # Spacing and case of the passphrase do not matter; the reference is forgiving too.
    messy = "  " + filed.passphrase.upper().replace(" ", "-") + " "
    reference = filed.reference.lower().replace("-", " ")
    complaints.complainant_keypair(db.session, reference, messy)


def test_replies_are_readable_only_with_the_passphrase(world: World) -> None:
    filed = file_confidential()
    case = filed.case
    complaints.add_message(
        db.session, case, identity_access.staff_actor(world.officer), seeded.REPLY
    )
    db.session.commit()
    _, complainant = complaints.complainant_keypair(db.session, filed.reference, filed.passphrase)
    key = complaints.complainant_case_key(case, complainant)
    assert [body for _, body in complaints.read_messages(db.session, case, key)] == [seeded.REPLY]
    with pytest.raises(NotAHolder):
        complaints.complainant_case_key(case, world.mediator_key)


def test_openness_only_grows_by_the_complainants_act(world: World) -> None:
    filed = file_confidential()
    case = filed.case
    _, complainant = complaints.complainant_keypair(db.session, filed.reference, filed.passphrase)
    with pytest.raises(InvalidInput):
        identity_access.increase_openness(
            db.session, case, complainant, "anonymous", confirmed=True
        )
    with pytest.raises(InvalidInput):
        identity_access.increase_openness(db.session, case, complainant, "open", confirmed=False)
    assert case.shared_identity is None
    identity_access.increase_openness(db.session, case, complainant, "open", confirmed=True)
    assert case.openness == "open"
    assert case.shared_identity == seeded.IDENTITY
    assert identity_access.disclosure_log(db.session, case)[-1].who == "you"


def test_anonymous_complaint_holds_no_identity(world: World) -> None:
    filed = seeded.file_seeded("anonymous")
    assert filed.case.identity is None and filed.case.identity_copy is None
    with pytest.raises(InvalidInput):
        complaints.file_complaint(
            db.session,
            openness="anonymous",
            narrative="x",
            identity=dict(seeded.IDENTITY),
            respondent_body_id=None,
        )


def test_a_tampered_ciphertext_is_refused_by_name(world: World) -> None:
    case = file_confidential().case
    assert case.narrative is not None
    damaged = bytearray(case.narrative)
    damaged[-5] ^= 0x01
    case.narrative = bytes(damaged)
    db.session.commit()
    key = complaints.staff_case_key(db.session, world.officer, world.officer_key, case)
    with pytest.raises(TamperedCiphertext) as refused:
        complaints.read_narrative(case, key)
    assert "altered" in str(refused.value)


@pytest.mark.parametrize("new_suite", ["x25519", "mlkem768-x25519"])
def test_rotation_reseals_everything_and_loses_nothing(world: World, new_suite: str) -> None:
    filed = file_confidential()
    case = filed.case
    identity_access.assign_mediator(
        db.session, world.officer, world.officer_key, case, world.mediator
    )
    complaints.add_message(db.session, case, Actor.complainant(), seeded.MESSAGE)
    complainant_portal.add_document(
        db.session, case, "photo.jpg", jpeg_with_gps(), limits=DOCUMENT_LIMITS
    )
    db.session.commit()
    old_key_id = case.case_key_id
    assert rotate(db.session, world.officer, world.officer_key, new_suite) == 1
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case is not None and case.case_key_id != old_key_id and case.suite == new_suite
    for user, key in ((world.officer, world.officer_key), (world.mediator, world.mediator_key)):
        opened = complaints.staff_case_key(db.session, user, key, case)
        assert complaints.read_narrative(case, opened) == seeded.NARRATIVE
        assert [b for _, b in complaints.read_messages(db.session, case, opened)] == [
            seeded.MESSAGE
        ]
    _, complainant = complaints.complainant_keypair(db.session, filed.reference, filed.passphrase)
    assert complaints.read_narrative(case, complaints.complainant_case_key(case, complainant))
    # The document's name, contents and what was removed from it, all re-sealed.
    (document,) = complainant_portal.documents(
        db.session, case, complaints.complainant_case_key(case, complainant)
    )
    assert document.name == "photo.jpg" and document.cleaning is not None
    assert "GPS position" in document.cleaning.removed
    db.session.commit()  # each step commits, as the request doing it would
    seen = identity_access.read_identity(
        db.session, world.second_officer, world.second_key, case, "Checking after rotation"
    )
    assert seen == seeded.IDENTITY


def assigned_then_reset_without_recovery(world: World) -> tuple[Case, KeyPair]:
    """A confidential case assigned to the mediator, who then loses their password and
    sets a new one without the recovery key: a new key pair, holding nothing yet."""
    case = file_confidential().case
    identity_access.assign_mediator(
        db.session, world.officer, world.officer_key, case, world.mediator
    )
    db.session.commit()
    token = accounts.reset_access(db.session, Actor.system("test"), world.mediator.id)
    accounts.complete_setup(db.session, token, "a brand new long password")
    db.session.commit()
    new_key = keyring.unlock(db.session, world.mediator, "a brand new long password")
    assert new_key is not None
    return case, new_key


def test_rotation_gives_no_key_to_a_holder_whose_key_was_replaced(world: World) -> None:
    """A reset without the recovery key makes a new key nobody vouched for: rotation must
    not hand it the case (only a custodian's deliberate re-seal does)."""
    case, new_key = assigned_then_reset_without_recovery(world)
    rotate(db.session, world.officer, world.officer_key, world.officer_key.suite)
    db.session.commit()
    with pytest.raises(NotAHolder):
        complaints.staff_case_key(db.session, world.mediator, new_key, case)
    reseal_for_user(db.session, world.officer, world.officer_key, world.mediator)
    db.session.commit()
    opened = complaints.staff_case_key(db.session, world.mediator, new_key, case)
    assert complaints.read_narrative(case, opened) == seeded.NARRATIVE


def test_purge_destroys_keys_after_retention_and_keeps_the_statistics(world: World) -> None:
    old = file_confidential()
    recent = file_confidential()
    complainant_portal.add_document(
        db.session, old.case, "photo.jpg", jpeg_with_gps(), limits=DOCUMENT_LIMITS
    )
    old.case.closed_on = date.today() - timedelta(days=400)
    recent.case.closed_on = date.today() - timedelta(days=30)
    db.session.commit()
    now = datetime.now(UTC)
    for filed in (old, recent):  # each complainant signed in, their key held in custody
        complainant_sessions.sign_in(db.session, filed.reference, filed.passphrase, "c", now)
    db.session.commit()
    assert purge_expired(db.session) == [old.reference]
    db.session.commit()
    db.session.expire_all()
    gone = db.session.get(Case, old.case.id)
    assert gone is not None
    assert gone.grants == [] and gone.narrative is None and gone.identity is None
    assert gone.keys_destroyed_on == date.today()
    (document,) = db.session.execute(
        select(CaseDocument).where(CaseDocument.case_id == gone.id)
    ).scalars()
    assert document.name is None and document.content is None and document.cleaning is None
    assert gone.submitted_on and gone.record_key is not None  # the statistical record stays
    with pytest.raises(UnknownCaseOrPassphrase):
        complaints.complainant_keypair(db.session, old.reference, old.passphrase)
    kept = db.session.get(Case, recent.case.id)
    assert kept is not None and kept.narrative is not None
    held = db.session.execute(select(ComplainantSession.case_id)).scalars().all()
    assert held == [recent.case.id]  # the purged case's custody went with its keys


def test_a_lost_password_loses_no_case_while_a_custodian_remains(world: World) -> None:
    case, new_key = assigned_then_reset_without_recovery(world)
    assert new_key.key_id != world.mediator_key.key_id
    with pytest.raises(NotAHolder):
        complaints.staff_case_key(db.session, world.mediator, new_key, case)
    result = reseal_for_user(db.session, world.officer, world.officer_key, world.mediator)
    db.session.commit()
    assert result.cases == 1
    opened = complaints.staff_case_key(db.session, world.mediator, new_key, case)
    assert complaints.read_narrative(case, opened) == seeded.NARRATIVE


def test_a_recovery_key_keeps_the_same_key_pair(app: Flask) -> None:
    from mediation.vault import InvalidRecoveryKey, WrongPassword

    with app.app_context():
        created = accounts.create_staff_user(
            db.session,
            Actor.system("test"),
            email="m@example.org",
            name="M",
            role="mediator",
            password=TEST_PASSWORD,
        )
        db.session.commit()
        assert created.recovery_key
        user, before = unlocked(created.user.id)
        token = accounts.reset_access(db.session, Actor.system("test"), user.id)
        db.session.commit()
        with pytest.raises(InvalidRecoveryKey):
            accounts.complete_setup(db.session, token, "another long password", recovery_key="AB")
        db.session.rollback()
        with pytest.raises((WrongPassword, InvalidRecoveryKey)):
            accounts.complete_setup(
                db.session,
                token,
                "another long password",
                recovery_key=accounts_recovery_of_someone_else(),
            )
        db.session.rollback()
        _, fresh = accounts.complete_setup(
            db.session, token, "another long password", recovery_key=created.recovery_key
        )
        db.session.commit()
        after = keyring.unlock(db.session, user, "another long password")
        assert after is not None and after.key_id == before.key_id
        assert fresh != created.recovery_key


def accounts_recovery_of_someone_else() -> str:
    from mediation.vault import generate_recovery_key

    return generate_recovery_key()


def file_everything(world: World) -> list[complaints.Filed]:
    filed = [file_confidential()]
    anonymous = seeded.file_seeded("anonymous")
    filed.append(anonymous)
    db.session.commit()  # each step commits, as the request doing it would
    for item in filed:
        complaints.add_message(db.session, item.case, Actor.complainant(), seeded.MESSAGE)
        complaints.add_message(
            db.session, item.case, identity_access.staff_actor(world.officer), seeded.REPLY
        )
        db.session.commit()
    identity_access.assign_mediator(
        db.session, world.officer, world.officer_key, filed[0].case, world.mediator
    )
    db.session.commit()
    return filed


def dump_database() -> bytes:
    """Everything the database holds, as bytes: every row of every table."""
    if not ON_POSTGRES:
        url = db.engine.url
        assert url.database
        db.session.remove()
        db.engine.dispose()
        return Path(url.database).read_bytes()
    chunks: list[bytes] = []
    with db.engine.connect() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        for table in list(tables):
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    chunks.append(value if isinstance(value, bytes) else str(value).encode())
                    if isinstance(value, memoryview):
                        chunks.append(value.tobytes())
    return b"\n".join(chunks)


def test_a_full_dump_contains_no_identity_narrative_message_or_passphrase(
    app: Flask, world: World
) -> None:
    filed = file_everything(world)
    dump = dump_database()
    instance = Path(app.config["MEDIATION_INSTANCE_PATH"])
    for path in instance.rglob("*"):
        if path.is_file():
            dump += path.read_bytes()
    assert len(dump) > 1000
    secrets = [*seeded.SEEDED_STRINGS, *(f.passphrase for f in filed)]
    # Whole passphrases only: single words from the 7,776-word list can occur by chance in
    # the schema's own names (e.g. "statistic" in statistics_keys).
    for secret in secrets:
        for encoding in ("utf-8", "utf-16-le"):
            assert secret.encode(encoding) not in dump, secret
        assert secret.lower().encode() not in dump.lower(), secret


def test_no_seeded_secret_reaches_the_log(
    app: Flask, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        filed = file_everything(world)
        case = filed[0].case
        complaints.complainant_keypair(db.session, filed[0].reference, filed[0].passphrase)
        key = complaints.staff_case_key(db.session, world.officer, world.officer_key, case)
        complaints.read_narrative(case, key)
        complaints.read_messages(db.session, case, key)
        db.session.commit()  # each step commits, as the request doing it would
        identity_access.read_identity(
            db.session, world.officer, world.officer_key, case, "Checking contact for triage"
        )
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert caplog.records, "the log should have recorded the SQL at least"
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (*seeded.SEEDED_STRINGS, filed[0].passphrase):
        assert secret not in logged
