"""Opening the statistical records for a release: the statistics keys, re-sealing records
under the symmetric statistics key, and each case's statistical inputs in one place."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from mediation.domain.statistics_tables import CaseStatistics, Dimensions, Period
from mediation.domain.taxonomy import load_taxonomy
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case
from mediation.models.casework import Outcome, TriageRecord
from mediation.models.statistics import (
    StatisticalRecord,
    StatisticsKey,
    StatisticsKeyGrant,
    StatisticsSymmetricKey,
)
from mediation.models.time import utcnow
from mediation.services.case_keys import NotAHolder
from mediation.services.statistical_records import current_statistics_key, open_statistics_key
from mediation.vault import (
    KeyPair,
    PublicKey,
    decrypt_symmetric,
    encrypt_symmetric,
    generate_symmetric_key,
    open_sealed,
    open_text,
    seal,
    seal_text,
    symmetric_key_id,
)

SYMMETRIC_KEY_CONTEXT = "statistics-symmetric-key"
CASE_UNIT_PREFIX = "case:"
ORGANISATION_UNIT_PREFIX = "org:"
# Fetched and opened in chunks, so the progress bar moves and memory stays flat.
CHUNK = 5000


def record_context(reference: str) -> str:
    """The context statistical records are sealed in (as in statistical_records)."""
    return f"case:{reference}:statistical-record"


def taxonomy_dimensions() -> Dimensions:
    taxonomy = load_taxonomy()
    return Dimensions(
        regions=tuple(r.id for r in taxonomy.regions),
        body_types=tuple(b.id for b in taxonomy.body_types),
        categories=tuple(c.id for c in taxonomy.categories),
        results=tuple(r.id for r in taxonomy.results),
    )


@dataclass
class StatisticsKeys:
    """The statistics keys opened in one case officer's session (never stored opened)."""

    pairs: dict[str, KeyPair] = field(default_factory=dict)
    symmetric: dict[str, bytes] = field(default_factory=dict)
    current_public: PublicKey | None = None
    current_symmetric_id: str = ""

    @property
    def current_symmetric(self) -> bytes:
        return self.symmetric[self.current_symmetric_id]


def unlock_statistics(session: Session, officer_key: KeyPair) -> StatisticsKeys:
    """Open every statistics key the officer holds, and the symmetric key (made on first
    use and sealed to the statistics public key, so only a custodian can open it)."""
    live = current_statistics_key(session)
    keys = StatisticsKeys()
    grants = session.execute(
        select(StatisticsKey)
        .join(StatisticsKeyGrant, StatisticsKeyGrant.statistics_key_id == StatisticsKey.id)
        .where(StatisticsKeyGrant.holder_key_id == officer_key.key_id)
    ).scalars()
    for key in grants:
        keys.pairs[key.key_id] = open_statistics_key(session, officer_key, key)
    if live.key_id not in keys.pairs:
        raise NotAHolder("You do not hold the statistics key.")
    keys.current_public = PublicKey(live.suite, live.public_key)
    opened_by_row = {key.id: key.key_id for key in session.execute(select(StatisticsKey)).scalars()}
    for row in session.execute(select(StatisticsSymmetricKey)).scalars():
        holder = keys.pairs.get(opened_by_row.get(row.statistics_key_id, ""))
        if holder is not None:
            keys.symmetric[row.key_id] = open_sealed(row.envelope, holder, SYMMETRIC_KEY_CONTEXT)
    current = session.execute(
        select(StatisticsSymmetricKey)
        .where(
            StatisticsSymmetricKey.statistics_key_id == live.id,
            StatisticsSymmetricKey.retired_at.is_(None),
        )
        .order_by(StatisticsSymmetricKey.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if current is None:
        secret = generate_symmetric_key()
        current = StatisticsSymmetricKey(
            key_id=symmetric_key_id(secret),
            statistics_key_id=live.id,
            envelope=seal(secret, keys.current_public, SYMMETRIC_KEY_CONTEXT),
            created_at=utcnow(),
        )
        session.add(current)
        session.flush()
        keys.symmetric[current.key_id] = secret
    keys.current_symmetric_id = current.key_id
    return keys


def read_record_content(
    keys: StatisticsKeys, reference: str, record: StatisticalRecord
) -> tuple[dict[str, Any], bool]:
    """A record's content, from the symmetric copy when there is one; and whether it still
    needs re-sealing under the current symmetric key."""
    context = record_context(reference)
    if record.symmetric is not None and record.symmetric_key_id in keys.symmetric:
        secret = keys.symmetric[record.symmetric_key_id]
        content: dict[str, Any] = json.loads(decrypt_symmetric(record.symmetric, secret, context))
        return content, record.symmetric_key_id != keys.current_symmetric_id
    if record.sealed is None or record.sealed_key_id not in keys.pairs:
        raise NotAHolder("A statistical record is sealed to a key you do not hold.")
    content = json.loads(open_text(record.sealed, keys.pairs[record.sealed_key_id], context))
    return content, True


def seal_record_content(
    keys: StatisticsKeys, reference: str, record: StatisticalRecord, content: dict[str, Any]
) -> None:
    """Write a record's content sealed both ways: to the statistics public key and under
    the symmetric statistics key."""
    assert keys.current_public is not None
    text = json.dumps(content, sort_keys=True)
    context = record_context(reference)
    record.sealed = seal_text(text, keys.current_public, context)
    record.sealed_key_id = keys.current_public.key_id
    record.symmetric = encrypt_symmetric(text.encode("utf-8"), keys.current_symmetric, context)
    record.symmetric_key_id = keys.current_symmetric_id


def amend_statistical_record(
    session: Session, keys: StatisticsKeys, case: Case, **changes: Any
) -> dict[str, Any]:
    """Change fields of a case's sealed statistical record (a pseudonym, an interim
    outcome). Caller commits."""
    record = session.execute(
        select(StatisticalRecord).where(StatisticalRecord.case_id == case.id)
    ).scalar_one_or_none()
    if record is None:
        raise NotAHolder("This case has no statistical record yet.")
    content, _ = read_record_content(keys, case.reference, record)
    content.update(changes)
    seal_record_content(keys, case.reference, record, content)
    return content


def case_statistics(
    case_id: int,
    record_key: int,
    body_id: int | None,
    body_type: str | None,
    submitted_on: date,
    closed_on: date | None,
    content: dict[str, Any],
) -> CaseStatistics:
    """Each case's statistical inputs, collected in one place.

    `collect_inputs` has already put the triaged categories and the recorded outcome's
    result into `content` where casework recorded them; the closure date is
    `Case.closed_on`.
    """
    pseudonym = content.get("organisation")
    if pseudonym and not content.get("anonymous"):
        unit = ORGANISATION_UNIT_PREFIX + str(pseudonym)
        unit_key = int(content.get("organisation_key", record_key))
    else:
        unit, unit_key = f"{CASE_UNIT_PREFIX}{case_id}", record_key
    categories = content.get("categories") or ()
    return CaseStatistics(
        unit=unit,
        unit_key=unit_key,
        body=body_id,
        body_type=content.get("body_type") or body_type,
        region=content.get("region"),
        categories=tuple(categories),
        result=content.get("result"),
        submitted_on=submitted_on,
        closed_on=closed_on,
    )


@dataclass
class CollectedInputs:
    cases: list[CaseStatistics]
    sha256: str
    resealed: int


def count_inputs(session: Session, period: Period) -> int:
    """How many cases a release over the period will open (for a progress bar)."""
    query = select(func.count()).select_from(
        _input_query(period).order_by(None).with_only_columns(Case.id).subquery()
    )
    return int(session.execute(query).scalar_one())


def _input_query(period: Period) -> Select[*tuple[Any, ...]]:
    in_period = or_(
        and_(Case.submitted_on >= period.start, Case.submitted_on <= period.end),
        and_(Case.closed_on >= period.start, Case.closed_on <= period.end),
    )
    return (
        select(
            Case.id,
            Case.reference,
            Case.record_key,
            Case.respondent_body_id,
            RespondentBody.body_type,
            Case.submitted_on,
            Case.closed_on,
            StatisticalRecord.id,
            StatisticalRecord.symmetric,
            StatisticalRecord.symmetric_key_id,
            StatisticalRecord.sealed,
            StatisticalRecord.sealed_key_id,
            TriageRecord.categories,
            Outcome.result,
        )
        .join(StatisticalRecord, StatisticalRecord.case_id == Case.id)
        .outerjoin(RespondentBody, RespondentBody.id == Case.respondent_body_id)
        .outerjoin(TriageRecord, TriageRecord.case_id == Case.id)
        .outerjoin(Outcome, Outcome.case_id == Case.id)
        .where(Case.state != "draft", in_period)
        .order_by(Case.id)
    )


def collect_inputs(
    session: Session,
    keys: StatisticsKeys,
    period: Period,
    progress: Callable[[int], None] | None = None,
) -> CollectedInputs:
    """Open the statistical record of every case received or closed in the period.

    Records still sealed only to the statistics public key (or under an older symmetric
    key) are re-sealed under the current symmetric key on the way, so the next release
    opens them with one fast symmetric decryption each.
    """
    digest = hashlib.sha256()
    cases: list[CaseStatistics] = []
    resealed: list[dict[str, Any]] = []
    symmetric = keys.symmetric
    result = session.execute(_input_query(period).execution_options(yield_per=CHUNK))
    for chunk in result.partitions(CHUNK):
        for row in chunk:
            (case_id, reference, record_key, body_id, body_type, submitted, closed) = row[:7]
            record_id, sym, sym_key_id, sealed, sealed_key_id = row[7:12]
            triaged_categories, outcome_result = row[12:]
            context = f"case:{reference}:statistical-record"
            if sym is not None and sym_key_id in symmetric:
                plain = decrypt_symmetric(sym, symmetric[sym_key_id], context)
                stale = sym_key_id != keys.current_symmetric_id
            elif sealed is not None and sealed_key_id in keys.pairs:
                plain = open_sealed(sealed, keys.pairs[sealed_key_id], context)
                stale = True
            else:
                raise NotAHolder("A statistical record is sealed to a key you do not hold.")
            if stale:
                resealed.append(
                    {
                        "b_id": record_id,
                        "b_symmetric": encrypt_symmetric(plain, keys.current_symmetric, context),
                        "b_key_id": keys.current_symmetric_id,
                    }
                )
            digest.update(b"%d|%d|%d|" % (case_id, record_key, body_id or 0))
            digest.update(plain)
            content = json.loads(plain)
            # What casework decided overrides what the complainant said at intake: the
            # categories confirmed at triage and the result of the recorded outcome.
            if triaged_categories:
                content["categories"] = sorted(triaged_categories)
            if outcome_result:
                content["result"] = outcome_result
            digest.update(json.dumps([triaged_categories, outcome_result]).encode())
            cases.append(
                case_statistics(case_id, record_key, body_id, body_type, submitted, closed, content)
            )
        if progress is not None:
            progress(len(chunk))
    _write_resealed(session, resealed)
    return CollectedInputs(cases, digest.hexdigest(), len(resealed))


def _write_resealed(session: Session, resealed: list[dict[str, Any]]) -> None:
    table = StatisticalRecord.__table__
    statement = (
        table.update()
        .where(table.c.id == bindparam("b_id"))
        .values(symmetric=bindparam("b_symmetric"), symmetric_key_id=bindparam("b_key_id"))
    )
    for start in range(0, len(resealed), CHUNK):
        session.connection().execute(statement, resealed[start : start + CHUNK])
