"""Sealing each case's statistical record, and the statistics key that opens the records."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.models.statistics import StatisticalRecord, StatisticsKey, StatisticsKeyGrant
from mediation.services import case_keys
from mediation.services.case_keys import NotAHolder
from mediation.services.keyring import public_key_of
from mediation.vault import (
    KeyPair,
    PublicKey,
    generate_keypair,
    keypair_from_private,
    open_sealed,
    open_text,
    seal,
    seal_text,
)

KEY_CONTEXT = "statistics-key"


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
) -> StatisticalRecord:
    """Seal the case's statistical record to the statistics public key. Caller commits."""
    key = current_statistics_key(session)
    content: dict[str, Any] = {
        "categories": sorted(set(categories)),
        "body_type": body_type,
        "region": region,
        "size_band": size_band,
        "submitted_on": case.submitted_on.isoformat(),
        "anonymous": case.openness == "anonymous",
    }
    existing = session.execute(
        select(StatisticalRecord).where(StatisticalRecord.case_id == case.id)
    ).scalar_one_or_none()
    record = existing or StatisticalRecord(case_id=case.id)
    record.sealed = seal_text(
        json.dumps(content, sort_keys=True),
        PublicKey(key.suite, key.public_key),
        record_context(case),
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
