"""Organisation pseudonyms across a key rotation: `vault rotate` renews the statistics keys,
re-seals every statistical record and the organisation-digest key to them, and loses no
link between the cases of one organisation, including cases whose keys were purged."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from mediation.domain.statistics_periods import Period
from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.models.statistics import (
    OrganisationDigestKey,
    OrganisationPseudonym,
    StatisticalRecord,
    StatisticsKey,
    StatisticsKeyGrant,
    StatisticsSymmetricKey,
)
from mediation.services import (
    keyring,
    organisation_pseudonyms,
    settings,
    statistical_records,
)
from mediation.services.audit import Actor
from mediation.services.case_keys import NotAHolder
from mediation.services.organisation_pseudonyms import (
    DIGEST_KEY_CONTEXT,
    normalise_organisation_name,
    open_digest_key,
    set_organisation_pseudonym,
)
from mediation.services.statistics_inputs import collect_inputs, unlock_statistics
from mediation.services.vault_admin import purge_expired, rotate
from mediation.vault import KeyPair, PublicKey, WrongKey, open_sealed, seal_text
from tests import seeded
from tests.conftest import TEST_PASSWORD, StaffFactory
from tests.services.test_vault_cases import dump_database
from tests.statistics.conftest import Officer, add_cases, historic

SPELLINGS = (
    "Ravensmoor Tenants Advice Collective",
    "The Ravensmoor tenants' advice collective Ltd",
    "RAVENSMOOR TENANTS ADVICE COLLECTIVE",
)


@dataclass
class Custodian:
    user: StaffUser
    key: KeyPair


@pytest.fixture
def custodians(app: Flask, make_staff: StaffFactory) -> Iterator[list[Custodian]]:
    """Two case officers, both holding the statistics key from its first use."""
    ids = [make_staff("case_officer").id for _ in range(2)]
    with app.app_context():
        people = []
        for user_id in ids:
            user = db.session.get(StaffUser, user_id)
            assert user is not None
            key = keyring.unlock(db.session, user, TEST_PASSWORD)
            assert key is not None
            people.append(Custodian(user, key))
        yield people


def file_case(organisation: str, submitted: date, closed: date | None) -> Case:
    filed = seeded.file_seeded(organisation=organisation)
    filed.case.submitted_on, filed.case.closed_on = submitted, closed
    statistical_records.record_at_intake(
        db.session, filed.case, categories=[], body_type=None, region="london", size_band=None
    )
    db.session.commit()
    return filed.case


def link(who: Custodian, case: Case, organisation: str) -> str:
    pseudonym = set_organisation_pseudonym(db.session, who.user, who.key, case, organisation)
    db.session.commit()
    return pseudonym


def live_statistics_key() -> StatisticsKey:
    return db.session.execute(
        select(StatisticsKey).where(StatisticsKey.retired_at.is_(None))
    ).scalar_one()


@pytest.mark.parametrize("new_suite", ["x25519", "mlkem768-x25519"])
def test_rotation_keeps_one_pseudonym_per_organisation_and_renews_the_statistics_keys(
    custodians: list[Custodian], new_suite: str
) -> None:
    first, second = custodians
    # An organisation's first case, closed and then purged (its identity is gone for good),
    # and a live case of the same organisation.
    purged = file_case(SPELLINGS[0], date(2025, 1, 10), date(2025, 2, 3))
    live = file_case(SPELLINGS[1], date(2025, 3, 4), None)
    pseudonym = link(first, purged, SPELLINGS[0])
    assert link(first, live, SPELLINGS[1]) == pseudonym
    settings.change_setting(db.session, Actor.system("test"), "retention_months", 1)
    db.session.commit()  # each step commits, as the command doing it would
    assert purge_expired(db.session, today=date(2025, 4, 1)) == [purged.reference]
    db.session.commit()
    old_key = live_statistics_key()
    old_key_id, old_symmetric_ids = (
        old_key.key_id,
        set(unlock_statistics(db.session, first.key).symmetric),
    )
    old_pair = statistical_records.open_statistics_key(db.session, first.key, old_key)

    assert rotate(db.session, first.user, first.key, new_suite) == 1  # the live case
    db.session.commit()
    db.session.expire_all()

    # New statistics keys, held by both custodians; the old ones retired.
    new_key = live_statistics_key()
    assert new_key.key_id != old_key_id and new_key.suite == new_suite
    holders = db.session.execute(
        select(StatisticsKeyGrant.holder_user_id).where(
            StatisticsKeyGrant.statistics_key_id == new_key.id
        )
    ).scalars()
    assert sorted(holders) == sorted([first.user.id, second.user.id])
    keys = unlock_statistics(db.session, second.key)
    assert keys.current_public is not None and keys.current_public.key_id == new_key.key_id
    assert keys.current_symmetric_id not in old_symmetric_ids
    live_symmetric = db.session.execute(
        select(StatisticsSymmetricKey).where(StatisticsSymmetricKey.retired_at.is_(None))
    ).scalar_one()
    assert live_symmetric.key_id == keys.current_symmetric_id
    # Every statistical record, the purged case's too, is re-sealed to the new keys.
    for row in db.session.execute(select(StatisticalRecord)).scalars():
        assert row.sealed_key_id == new_key.key_id
        assert row.symmetric_key_id == keys.current_symmetric_id

    # The same organisation filing again, linked by the other custodian, under a third
    # spelling: the same pseudonym, and one organisation in the release's inputs.
    again = file_case(SPELLINGS[2], date(2025, 9, 1), date(2025, 10, 1))
    assert link(second, again, SPELLINGS[2]) == pseudonym
    assert len(db.session.execute(select(OrganisationPseudonym)).scalars().all()) == 1
    inputs = collect_inputs(db.session, keys, Period(2025))
    assert len(inputs.cases) == 3
    assert {case.unit for case in inputs.cases} == {f"org:{pseudonym}"}

    # No digest is left under a retired key: the digest key is sealed to the live
    # statistics key only, and the retired statistics key no longer opens it.
    digest_key = db.session.execute(select(OrganisationDigestKey)).scalar_one()
    assert digest_key.statistics_key_id == new_key.id
    for row in db.session.execute(select(OrganisationPseudonym)).scalars():
        assert row.digest_key_id == digest_key.key_id
    with pytest.raises(WrongKey):
        open_sealed(digest_key.envelope, old_pair, DIGEST_KEY_CONTEXT)
    assert open_digest_key(db.session, keys)[0] == digest_key.key_id


def test_a_record_sealed_to_the_retired_key_during_the_ceremony_is_not_lost(
    custodians: list[Custodian],
) -> None:
    """An intake that read the old public key just before the rotation committed seals its
    record to the retired key: its holders can still open it, and a release re-seals it."""
    first, _ = custodians
    case = file_case(SPELLINGS[0], date(2025, 1, 10), None)
    old_key = live_statistics_key()
    old_public = PublicKey(old_key.suite, old_key.public_key)
    rotate(db.session, first.user, first.key, "x25519")
    db.session.commit()
    record = db.session.execute(
        select(StatisticalRecord).where(StatisticalRecord.case_id == case.id)
    ).scalar_one()
    record.sealed = seal_text(
        '{"anonymous": false, "region": "london"}',
        old_public,
        statistical_records.record_context(case),
    )
    record.sealed_key_id, record.symmetric, record.symmetric_key_id = old_key.key_id, None, None
    db.session.commit()
    keys = unlock_statistics(db.session, first.key)
    inputs = collect_inputs(db.session, keys, Period(2025))
    assert [c.region for c in inputs.cases] == ["london"] and inputs.resealed == 1


def test_only_a_holder_of_the_statistics_key_can_rotate(
    custodians: list[Custodian], make_staff: StaffFactory
) -> None:
    """Rotation never leaves the statistics keys behind: a case officer who does not hold
    the statistics key is refused before anything changes."""
    file_case(SPELLINGS[0], date(2025, 1, 10), None)
    newcomer = db.session.get(StaffUser, make_staff("case_officer").id)
    assert newcomer is not None
    newcomer_key = keyring.unlock(db.session, newcomer, TEST_PASSWORD)
    assert newcomer_key is not None
    before = live_statistics_key().key_id
    with pytest.raises(NotAHolder, match="statistics key"):
        rotate(db.session, newcomer, newcomer_key, "x25519")
    db.session.rollback()
    assert live_statistics_key().key_id == before


def test_the_digest_key_is_not_readable_from_a_dump_without_a_custodians_password(
    app: Flask, custodians: list[Custodian], make_staff: StaffFactory
) -> None:
    first, _ = custodians
    link(first, file_case(SPELLINGS[0], date(2025, 1, 10), None), SPELLINGS[0])
    _, secret = open_digest_key(db.session, unlock_statistics(db.session, first.key))
    digest = db.session.execute(select(OrganisationPseudonym.name_digest)).scalar_one()
    # Not an unkeyed hash of the name that anyone could recompute.
    normalised = normalise_organisation_name(SPELLINGS[0]).encode()
    assert digest not in {hashlib.sha256(normalised).hexdigest(), hashlib.sha256(b"").hexdigest()}
    # Nobody but a custodian opens it: a mediator's key holds no statistics key.
    mediator = db.session.get(StaffUser, make_staff("mediator").id)
    assert mediator is not None
    mediator_key = keyring.unlock(db.session, mediator, TEST_PASSWORD)
    assert mediator_key is not None
    with pytest.raises(NotAHolder):
        unlock_statistics(db.session, mediator_key)
    db.session.commit()
    # The whole database and instance/ hold the key only sealed.
    dump = dump_database()
    for path in Path(app.config["MEDIATION_INSTANCE_PATH"]).rglob("*"):
        if path.is_file():
            dump += path.read_bytes()
    assert len(dump) > 1000
    for form in (secret, secret.hex().encode(), base64.b64encode(secret)):
        assert form not in dump
        assert form.lower() not in dump.lower()


def test_two_first_uses_at_once_make_one_digest_key(
    custodians: list[Custodian], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two case officers linking the service's first organisation at the same moment: the
    second one's key is refused by the database and it uses the first one's, so a name
    never has two digests; the rest of its transaction carries on."""
    first, second = custodians
    case = file_case(SPELLINGS[0], date(2025, 1, 10), None)
    made = open_digest_key(db.session, unlock_statistics(db.session, first.key))
    db.session.commit()
    real = organisation_pseudonyms._digest_key_row
    looked: list[bool] = []

    def not_yet_seen(session: object) -> object:
        # The second officer looked before the first one's key was committed.
        if not looked:
            looked.append(True)
            return None
        return real(session)  # type: ignore[arg-type]

    monkeypatch.setattr(organisation_pseudonyms, "_digest_key_row", not_yet_seen)
    case.closed_on = date(2025, 3, 1)  # the caller's own work in the same transaction
    again = open_digest_key(db.session, unlock_statistics(db.session, second.key))
    db.session.commit()
    assert again == made
    assert len(db.session.execute(select(OrganisationDigestKey)).scalars().all()) == 1
    db.session.expire_all()
    stored = db.session.get(Case, case.id)
    assert stored is not None and stored.closed_on == date(2025, 3, 1)


def test_rotation_changes_no_statistical_input(
    officer: Officer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Historic (purged) cases, several organisations, re-sealed a few records at a time:
    the release's inputs are what they were."""
    cases = [
        historic(
            date(2025, 1 + i % 12, 1 + i % 27),
            date(2025, 12, 20),
            organisation=f"org{i % 9}" if i % 4 else None,
            record_key=i * 7919,
        )
        for i in range(40)
    ]
    add_cases(officer, cases)
    before = collect_inputs(db.session, unlock_statistics(db.session, officer.key), Period(2025))
    db.session.commit()
    monkeypatch.setattr(statistical_records, "_ROTATION_CHUNK", 7)
    assert rotate(db.session, officer.user, officer.key, "mlkem768-x25519") == 0  # none live
    db.session.commit()
    keys = unlock_statistics(db.session, officer.key)
    after = collect_inputs(db.session, keys, Period(2025))
    assert after.resealed == 0  # already under the new symmetric key
    # The inputs' checksum is keyed with the statistics key, so it changes with the key;
    # what it covers does not.
    assert after.cases == before.cases and after.sha256 != before.sha256
    key_ids = db.session.execute(
        select(StatisticalRecord.sealed_key_id, StatisticalRecord.symmetric_key_id)
    ).all()
    assert len(key_ids) == 40
    assert set(key_ids) == {(live_statistics_key().key_id, keys.current_symmetric_id)}
