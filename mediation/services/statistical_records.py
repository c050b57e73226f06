"""Sealing each case's statistical record, and the statistics key that opens the records."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.models.statistics import (
    StatisticalRecord,
    StatisticsKey,
    StatisticsKeyGrant,
    StatisticsSymmetricKey,
)
from mediation.models.time import utcnow
from mediation.services import case_keys
from mediation.services.case_keys import NotAHolder
from mediation.services.keyring import public_key_of
from mediation.vault import (
    KeyPair,
    PublicKey,
    generate_keypair,
    generate_symmetric_key,
    keypair_from_private,
    open_sealed,
    open_text,
    seal,
    seal_text,
    symmetric_key_id,
)

if TYPE_CHECKING:
    from mediation.services.statistics_inputs import StatisticsKeys

KEY_CONTEXT = "statistics-key"
# A record's JSON runs from about 150 to 420 bytes, mostly with its categories; padded to
# 256 and then in Padmé's 16-byte steps, a long region or size band name could tip a record
# into the next step. Padded to 512, every record seals to one length. (The symmetric copy
# is compact, under 256 bytes, and seals to one length anyway.)
RECORD_PADDED_LENGTH = 512


def record_context(case: Case) -> str:
    return f"case:{case.reference}:statistical-record"


def current_statistics_key(session: Session) -> StatisticsKey:
    """The live statistics key, made (and sealed to every custodian) on first use."""
    key = session.execute(
        select(StatisticsKey)
        .where(StatisticsKey.retired_at.is_(None))
        .order_by(StatisticsKey.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if key is not None:
        return key
    people = case_keys.custodians(session)
    if not people:
        raise case_keys.NoCustodian()
    pair = generate_keypair(str(current_app.config["VAULT_SUITE"]))
    key = StatisticsKey(suite=pair.suite, key_id=pair.key_id, public_key=pair.public)
    session.add(key)
    session.flush()
    for user, staff_key in people:
        grant_statistics_key(session, key, pair, user.id, public_key_of(staff_key))
    return key


def grant_statistics_key(
    session: Session, key: StatisticsKey, pair: KeyPair, user_id: int, to: PublicKey
) -> None:
    session.add(
        StatisticsKeyGrant(
            statistics_key_id=key.id,
            holder_user_id=user_id,
            holder_key_id=to.key_id,
            envelope=seal(pair.private, to, KEY_CONTEXT),
        )
    )


def open_statistics_key(session: Session, officer_key: KeyPair, key: StatisticsKey) -> KeyPair:
    """The statistics private key, opened with a custodian's key (or NotAHolder)."""
    grant = session.execute(
        select(StatisticsKeyGrant).where(
            StatisticsKeyGrant.statistics_key_id == key.id,
            StatisticsKeyGrant.holder_key_id == officer_key.key_id,
        )
    ).scalar_one_or_none()
    if grant is None:
        raise NotAHolder("You do not hold the statistics key.")
    return keypair_from_private(key.suite, open_sealed(grant.envelope, officer_key, KEY_CONTEXT))


def record_at_intake(
    session: Session,
    case: Case,
    *,
    categories: list[str],
    body_type: str | None,
    region: str | None,
    size_band: str | None,
    just_filed: bool = False,
) -> StatisticalRecord:
    """Seal the case's statistical record to the statistics public key (replacing the one it
    has). `just_filed`: the case was made in this transaction, so it has no record and none
    is looked for. Caller commits."""
    key = current_statistics_key(session)
    content: dict[str, Any] = {
        "categories": sorted(set(categories)),
        "body_type": body_type,
        "region": region,
        "size_band": size_band,
        "submitted_on": case.submitted_on.isoformat(),
        "anonymous": case.openness == "anonymous",
    }
    existing = (
        None
        if just_filed
        else session.execute(
            select(StatisticalRecord).where(StatisticalRecord.case_id == case.id)
        ).scalar_one_or_none()
    )
    record = existing or StatisticalRecord(case_id=case.id)
    record.sealed = seal_text(
        json.dumps(content, sort_keys=True),
        PublicKey(key.suite, key.public_key),
        record_context(case),
        minimum_length=RECORD_PADDED_LENGTH,
    )
    record.sealed_key_id = key.key_id
    if existing is None:
        session.add(record)
    return record


def open_record(
    session: Session, case: Case, record: StatisticalRecord, statistics_key: KeyPair
) -> dict[str, Any]:
    """Read a sealed statistical record with the opened statistics key."""
    assert record.sealed is not None
    data: dict[str, Any] = json.loads(
        open_text(record.sealed, statistics_key, record_context(case))
    )
    return data


def grant_to_new_custodian(session: Session, officer_key: KeyPair, new_officer: StaffUser) -> None:
    """Seal the live statistics key to another case officer (used by vault re-sealing)."""
    key = current_statistics_key(session)
    pair = open_statistics_key(session, officer_key, key)
    staff = case_keys.staff_holder(session, new_officer)
    grant_statistics_key(session, key, pair, new_officer.id, staff.public_key)


# Records re-sealed per round trip during a rotation.
_ROTATION_CHUNK = 1000


def rotate_statistics_keys(session: Session, officer_key: KeyPair, suite: str) -> int:
    """Part of `vault rotate`: a new statistics key pair (in `suite`) and symmetric key;
    every statistical record and the organisation digest key re-sealed to them; the old
    ones retired. Returns how many records were re-sealed. Caller commits.

    Raises NotAHolder, before changing anything, if the officer does not hold the live
    statistics key. Each custodian who held the old key gets the new one sealed to their
    current key, as rotation does for case keys. The retired keys stay sealed to
    their holders and are no longer used to seal anything; so a record that an intake
    sealed to the old public key while the ceremony ran can still be opened, and the next
    release re-seals it. The digest key is re-sealed in place and kept, so organisation
    digests, and the links they make, survive (see organisation_pseudonyms).
    """
    from mediation.services import organisation_pseudonyms, statistics_inputs

    old = session.execute(
        select(StatisticsKey)
        .where(StatisticsKey.retired_at.is_(None))
        .order_by(StatisticsKey.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if old is None:
        return 0  # no statistics key yet: nothing is sealed to one
    keys = statistics_inputs.unlock_statistics(session, officer_key)
    pair = generate_keypair(suite)
    new = StatisticsKey(suite=pair.suite, key_id=pair.key_id, public_key=pair.public)
    session.add(new)
    session.flush()
    held_old = set(
        session.execute(
            select(StatisticsKeyGrant.holder_user_id).where(
                StatisticsKeyGrant.statistics_key_id == old.id
            )
        ).scalars()
    )
    # Custodians as case_keys defines them (active case officers' live keys), so rotation
    # never hands the statistics key to a key that is not a custodian's.
    for user, staff_key in case_keys.custodians(session):
        if user.id in held_old:
            grant_statistics_key(session, new, pair, user.id, public_key_of(staff_key))
    now = utcnow()
    old.retired_at = now
    for row in session.execute(
        select(StatisticsSymmetricKey).where(StatisticsSymmetricKey.retired_at.is_(None))
    ).scalars():
        row.retired_at = now
    secret = generate_symmetric_key()
    symmetric = StatisticsSymmetricKey(
        key_id=symmetric_key_id(secret),
        statistics_key_id=new.id,
        envelope=seal(secret, pair.public_key(), statistics_inputs.SYMMETRIC_KEY_CONTEXT),
        created_at=now,
    )
    session.add(symmetric)
    session.flush()
    keys.pairs[pair.key_id] = pair
    keys.symmetric[symmetric.key_id] = secret
    keys.current_public = pair.public_key()
    keys.current_symmetric_id = symmetric.key_id

    count = _reseal_records(session, keys)
    organisation_pseudonyms.reseal_digest_key(session, keys, new)
    return count


def _reseal_records(session: Session, keys: StatisticsKeys) -> int:
    """Every statistical record re-sealed to the keys' current public and symmetric keys,
    in chunks with bulk updates, so memory stays flat however many records there are."""
    from mediation.services.statistics_inputs import read_record_content, seal_record_content

    session.flush()
    table = StatisticalRecord.__table__
    update = (
        table.update()
        .where(table.c.id == bindparam("b_id"))
        .values(
            sealed=bindparam("b_sealed"),
            sealed_key_id=bindparam("b_sealed_key_id"),
            symmetric=bindparam("b_symmetric"),
            symmetric_key_id=bindparam("b_symmetric_key_id"),
        )
    )
    count, after = 0, 0
    while True:
        rows = session.execute(
            select(
                table.c.id,
                Case.reference,
                table.c.sealed,
                table.c.sealed_key_id,
                table.c.symmetric,
                table.c.symmetric_key_id,
            )
            .join(Case, Case.id == table.c.case_id)
            .where(table.c.id > after)
            .order_by(table.c.id)
            .limit(_ROTATION_CHUNK)
        ).all()
        if not rows:
            break
        updates = []
        for record_id, reference, *envelopes in rows:
            # A transient copy, never added to the session: only the bulk update writes.
            record = StatisticalRecord(
                sealed=envelopes[0],
                sealed_key_id=envelopes[1],
                symmetric=envelopes[2],
                symmetric_key_id=envelopes[3],
            )
            content, _ = read_record_content(keys, reference, record)
            seal_record_content(keys, reference, record, content)
            updates.append(
                {
                    "b_id": record_id,
                    "b_sealed": record.sealed,
                    "b_sealed_key_id": record.sealed_key_id,
                    "b_symmetric": record.symmetric,
                    "b_symmetric_key_id": record.symmetric_key_id,
                }
            )
        session.connection().execute(update, updates)
        count += len(rows)
        after = rows[-1][0]
    # Records the session had already loaded now hold stale envelopes.
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, StatisticalRecord):
            session.expire(loaded)
    return count
