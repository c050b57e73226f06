"""Opening the statistical records for a release: the statistics keys, re-sealing records
under the symmetric statistics key, and each case's statistical inputs in one place."""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
from array import array
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    bindparam,
    case,
    func,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from mediation.domain.statistics_tables import CaseRow, CaseStatistics, Dimensions, Period
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
from mediation.services.statistical_records import (
    RECORD_PADDED_LENGTH,
    current_statistics_key,
    open_statistics_key,
)
from mediation.vault import (
    KeyPair,
    PublicKey,
    SymmetricOpener,
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

# The plaintext of a record's symmetric copy is compact: a version byte, then one token
# per field, in this order, each after a \x1f. Tokens: "\x00" for a field the record does
# not have, "" for None, "1"/"0" for `anonymous`, decimal for `organisation_key`, "[" and
# the identifiers joined by "," for `categories`, the text itself otherwise. A release
# splits it at a tenth of the cost of parsing JSON. The sealed (public-key) copy stays
# JSON, and so does a symmetric copy of a record this form cannot hold exactly; JSON
# copies (they start with "{") are still read, and re-sealed compact by the next release.
COMPACT_RECORD = b"\x01"
COMPACT_FIELDS = (
    "anonymous",
    "body_type",
    "categories",
    "organisation",
    "organisation_key",
    "region",
    "result",
    "size_band",
    "submitted_on",
)
_SEPARATOR = "\x1f"
_ABSENT = "\x00"
_NULL = ""
_NOTHING = frozenset({_ABSENT, _NULL})


def _token(name: str, value: Any) -> str | None:
    """A field's token, or None when the compact form cannot hold the value exactly."""
    if value is None:
        return _NULL
    kind = type(value)
    if name == "anonymous":
        return ("1" if value else "0") if kind is bool else None
    if name == "organisation_key":
        return str(value) if kind is int else None
    if name == "categories":
        if kind is not list or not all(type(item) is str for item in value):
            return None
        return "[" + ",".join(value)
    return value if kind is str else None


def encode_compact_record(content: dict[str, Any]) -> bytes | None:
    """A record's content in the compact form, or None if that form cannot hold it
    exactly (an unknown field, an unexpected type, a separator inside a value)."""
    tokens = []
    if not content.keys() <= set(COMPACT_FIELDS):
        return None
    for name in COMPACT_FIELDS:
        if name not in content:
            tokens.append(_ABSENT)
            continue
        token = _token(name, content[name])
        if token is None:
            return None
        tokens.append(token)
    encoded = _SEPARATOR.join([COMPACT_RECORD.decode(), *tokens]).encode("utf-8")
    try:
        exact = decode_compact_record(encoded) == content
    except ValueError:
        exact = False
    return encoded if exact else None


def decode_compact_record(plain: bytes) -> dict[str, Any]:
    """A record's content from the compact form (ValueError if it is not one)."""
    if plain[:1] != COMPACT_RECORD:
        raise ValueError("not a compact statistical record")
    _version, *tokens = plain.decode("utf-8").split(_SEPARATOR)
    if _version != COMPACT_RECORD.decode() or len(tokens) != len(COMPACT_FIELDS):
        raise ValueError("a compact statistical record has the wrong number of fields")
    content: dict[str, Any] = {}
    for name, text in zip(COMPACT_FIELDS, tokens, strict=True):
        if text == _ABSENT:
            continue
        value: Any = text
        if text == _NULL:
            value = None
        elif name == "anonymous":
            if text not in ("0", "1"):
                raise ValueError("a compact statistical record has a wrong flag")
            value = text == "1"
        elif name == "organisation_key":
            value = int(text)
        elif name == "categories":
            if text[:1] != "[":
                raise ValueError("a compact statistical record has wrong categories")
            value = text[1:].split(",") if len(text) > 1 else []
        content[name] = value
    return content


def record_plaintext(content: dict[str, Any]) -> bytes:
    """The plaintext of a record's symmetric copy: compact if it can be, else JSON."""
    return encode_compact_record(content) or json.dumps(content, sort_keys=True).encode("utf-8")


def record_from_plaintext(plain: bytes) -> dict[str, Any]:
    """A record's content from either plaintext form."""
    if plain[:1] == COMPACT_RECORD:
        return decode_compact_record(plain)
    content: dict[str, Any] = json.loads(plain)
    return content


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
        plain = decrypt_symmetric(record.symmetric, secret, context)
        content = record_from_plaintext(plain)
        stale = record.symmetric_key_id != keys.current_symmetric_id
        if plain[:1] != COMPACT_RECORD and encode_compact_record(content) is not None:
            stale = True  # an older JSON copy: the compact one opens faster
        return content, stale
    if record.sealed is None or record.sealed_key_id not in keys.pairs:
        raise NotAHolder("A statistical record is sealed to a key you do not hold.")
    content = json.loads(open_text(record.sealed, keys.pairs[record.sealed_key_id], context))
    return content, True


def seal_record_content(
    keys: StatisticsKeys, reference: str, record: StatisticalRecord, content: dict[str, Any]
) -> None:
    """Write a record's content sealed both ways: to the statistics public key (JSON) and
    under the symmetric statistics key (compact where it can be)."""
    assert keys.current_public is not None
    text = json.dumps(content, sort_keys=True)
    context = record_context(reference)
    record.sealed = seal_text(
        text, keys.current_public, context, minimum_length=RECORD_PADDED_LENGTH
    )
    record.sealed_key_id = keys.current_public.key_id
    record.symmetric = encrypt_symmetric(record_plaintext(content), keys.current_symmetric, context)
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
    return CaseStatistics(
        *case_row(case_id, record_key, body_id, body_type, submitted_on, closed_on, content)
    )


def case_row(
    case_id: int,
    record_key: int,
    body_id: int | None,
    body_type: str | None,
    submitted_on: date,
    closed_on: date | None,
    content: dict[str, Any],
) -> CaseRow:
    """`case_statistics` as a row (what a release collects). `collect_inputs` reads the
    compact form by the same rules without making a dictionary."""
    pseudonym = content.get("organisation")
    if pseudonym and not content.get("anonymous"):
        unit = ORGANISATION_UNIT_PREFIX + str(pseudonym)
        unit_key = int(content.get("organisation_key", record_key))
    else:
        unit, unit_key = f"{CASE_UNIT_PREFIX}{case_id}", record_key
    categories = content.get("categories") or ()
    return (
        unit,
        unit_key,
        body_id,
        content.get("body_type") or body_type,
        content.get("region"),
        tuple(categories),
        content.get("result"),
        submitted_on,
        closed_on,
    )


@dataclass
class CollectedInputs:
    rows: list[CaseRow]
    sha256: str
    resealed: int

    @property
    def cases(self) -> list[CaseStatistics]:
        return [CaseStatistics(*row) for row in self.rows]


def count_inputs(session: Session, period: Period) -> int:
    """How many cases a release over the period will open (for a progress bar)."""
    query = select(func.count()).select_from(
        _input_query(period).order_by(None).with_only_columns(Case.id).subquery()
    )
    return int(session.execute(query).scalar_one())


def _input_query(period: Period, readable: Collection[str] = ()) -> Select[*tuple[Any, ...]]:
    """Every case received or closed in the period, with its statistical record: the
    symmetric copy, and the sealed one only where no symmetric key in `readable` opens the
    symmetric copy (a sealed copy is over a kilobyte, and a release reads a million rows).

    Only what a release needs, with no join to the (few) bodies. Dates and the triaged
    categories come as the database gives them (text on SQLite): `collect_inputs`
    converts each distinct value once instead of once per row.
    """
    in_period = or_(
        and_(Case.submitted_on >= period.start, Case.submitted_on <= period.end),
        and_(Case.closed_on >= period.start, Case.closed_on <= period.end),
    )
    symmetric_opens = and_(
        StatisticalRecord.symmetric.is_not(None),
        StatisticalRecord.symmetric_key_id.in_(sorted(readable)),
    )
    return (
        select(
            Case.id,
            Case.reference,
            Case.record_key,
            Case.respondent_body_id,
            type_coerce(Case.submitted_on, String),
            type_coerce(Case.closed_on, String),
            StatisticalRecord.symmetric,
            StatisticalRecord.symmetric_key_id,
            case((symmetric_opens, null()), else_=StatisticalRecord.sealed),
            case((symmetric_opens, null()), else_=StatisticalRecord.sealed_key_id),
            type_coerce(TriageRecord.categories, String),
            Outcome.result,
        )
        .join(StatisticalRecord, StatisticalRecord.case_id == Case.id)
        .outerjoin(TriageRecord, TriageRecord.case_id == Case.id)
        .outerjoin(Outcome, Outcome.case_id == Case.id)
        .where(Case.state != "draft", in_period)
        .order_by(Case.id)
    )


class _Decided:
    """What casework decided about a case, memoised by its raw value: the categories
    confirmed at triage and the result of the recorded outcome, which override what the
    complainant said at intake, and the bytes the inputs' checksum covers for them."""

    def __init__(self) -> None:
        self._seen: dict[tuple[Any, str | None], tuple[tuple[str, ...] | None, int]] = {}
        self.variants: list[bytes] = []

    def __call__(
        self, raw_categories: Any, result: str | None
    ) -> tuple[tuple[str, ...] | None, int]:
        """The triaged categories (None if there are none) and the number of the bytes
        (in `variants`) the checksum covers."""
        key = (
            tuple(raw_categories) if isinstance(raw_categories, list) else raw_categories,
            result,
        )
        found = self._seen.get(key)
        if found is None:
            triaged = raw_categories
            if isinstance(raw_categories, str):
                triaged = json.loads(raw_categories)
            categories = tuple(sorted(triaged)) if triaged else None
            self.variants.append(json.dumps([triaged, result]).encode())
            found = self._seen[key] = (categories, len(self.variants) - 1)
        return found


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


@contextmanager
def garbage_collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: opening a million records makes millions of
    small objects and no reference cycles, and each collection would walk all of them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def collect_inputs(
    session: Session,
    keys: StatisticsKeys,
    period: Period,
    progress: Callable[[int], None] | None = None,
) -> CollectedInputs:
    """Open the statistical record of every case received or closed in the period.

    Records still sealed only to the statistics public key, under an older symmetric key,
    or in the older JSON form, are re-sealed (compact, under the current symmetric key) on
    the way, so the next release opens them with one fast symmetric decryption each.

    The inputs' checksum covers every input that can change a figure: case by case in case
    order, the case's id, record key, body, dates received and closed, what casework
    decided, and the record's symmetric plaintext (compact where it can be), so it does
    not change when a record is re-sealed; the type of every respondent body (a record
    without its own body type takes its body's); and the taxonomy's dimensions.
    """
    session.flush()  # a Core query does not autoflush
    rows: list[CaseRow] = []
    resealed: list[dict[str, Any]] = []
    openers = {key_id: SymmetricOpener(secret) for key_id, secret in keys.symmetric.items()}
    current_id, current_secret = keys.current_symmetric_id, keys.current_symmetric
    body_types: dict[int, str | None] = dict(
        session.execute(select(RespondentBody.id, RespondentBody.body_type)).all()
    )
    decided = _Decided()
    undecided = decided(None, None)
    numbers_digest, plain_digest = hashlib.sha256(), hashlib.sha256()
    days: dict[Any, date | None] = {None: None}
    category_tokens: dict[str, tuple[str, ...]] = {_ABSENT: (), _NULL: (), "[": ()}
    # A text field's value by its token: None for none, else one shared string per value
    # (a million rows hold a handful of regions, not a million copies of them).
    values: dict[str, str | None] = {_ABSENT: None, _NULL: None}
    value_of = values.setdefault
    nothing = _NOTHING
    compact = COMPACT_RECORD
    separator = _SEPARATOR
    org_prefix, case_prefix = ORGANISATION_UNIT_PREFIX, CASE_UNIT_PREFIX
    query = _input_query(period, openers).execution_options(yield_per=CHUNK)
    result = session.connection().execute(query)
    for chunk in result.partitions(CHUNK):
        numbers: list[int] = []
        plains: list[bytes] = []
        for (
            case_id,
            reference,
            record_key,
            body_id,
            submitted_raw,
            closed_raw,
            sym,
            sym_key_id,
            sealed,
            sealed_key_id,
            triaged_raw,
            outcome_result,
        ) in chunk:
            context = "case:" + reference + ":statistical-record"
            opener = openers.get(sym_key_id) if sym is not None else None
            if opener is not None:
                plain = opener.decrypt(sym, context)
                stale = sym_key_id != current_id
            elif sealed is not None and sealed_key_id in keys.pairs:
                plain = open_sealed(sealed, keys.pairs[sealed_key_id], context)
                stale = True
            else:
                raise NotAHolder("A statistical record is sealed to a key you do not hold.")
            submitted = days.get(submitted_raw)
            if submitted is None:
                submitted = days[submitted_raw] = _as_date(submitted_raw)
            closed = days.get(closed_raw)
            if closed is None and closed_raw is not None:
                closed = days[closed_raw] = _as_date(closed_raw)
            if triaged_raw is None and outcome_result is None:
                triaged, variant = undecided
            else:
                triaged, variant = decided(triaged_raw, outcome_result)
            body_type = body_types.get(body_id) if body_id is not None else None
            if plain[:1] == compact:
                # The compact form, read by the rules of case_row without a dictionary.
                (
                    _version,
                    anonymous,
                    kind,
                    categories_token,
                    pseudonym,
                    organisation_key,
                    region,
                    outcome,
                    _size_band,
                    _submitted_on,
                ) = plain.decode("utf-8").split(separator)
                if pseudonym not in nothing and anonymous != "1":
                    unit = org_prefix + pseudonym
                    unit_key = record_key if organisation_key == _ABSENT else int(organisation_key)
                else:
                    unit, unit_key = case_prefix + str(case_id), record_key
                if triaged is None:
                    categories = category_tokens.get(categories_token)
                    if categories is None:
                        categories = category_tokens[categories_token] = tuple(
                            categories_token[1:].split(",")
                        )
                else:
                    categories = triaged
                rows.append(
                    (
                        unit,
                        unit_key,
                        body_id,
                        value_of(kind, kind) or body_type,
                        value_of(region, region),
                        categories,
                        outcome_result or value_of(outcome, outcome),
                        submitted,
                        closed,
                    )
                )
            else:
                # JSON: the sealed copy, or a symmetric copy from before the compact form.
                content = json.loads(plain)
                plain = encode_compact_record(content) or plain
                stale = stale or plain[:1] == compact
                if triaged:
                    content["categories"] = list(triaged)
                if outcome_result:
                    content["result"] = outcome_result
                rows.append(
                    case_row(case_id, record_key, body_id, body_type, submitted, closed, content)
                )
            if stale:
                resealed.append(
                    {
                        "b_case_id": case_id,
                        "b_symmetric": encrypt_symmetric(plain, current_secret, context),
                        "b_key_id": current_id,
                    }
                )
            numbers += (
                case_id,
                record_key,
                body_id or 0,
                variant,
                len(plain),
                submitted.toordinal(),
                closed.toordinal() if closed is not None else 0,
            )
            plains.append(plain)
        numbers_digest.update(array("q", numbers).tobytes())
        plain_digest.update(b"".join(plains))
        if progress is not None:
            progress(len(chunk))
    _write_resealed(session, resealed)
    # Keyed with the statistics key: a plain hash over the opened records, shown beside each
    # release, would let whoever holds the database test guesses of a small period's
    # sealed fields (every other input of the hash is in the database).
    digest = hmac.new(current_secret, b"statistics-inputs-v3\x00", hashlib.sha256)
    # The bodies' types stand in for a record's own where it has none; the taxonomy names
    # the cells a record can fall in.
    digest.update(json.dumps(sorted(body_types.items())).encode("utf-8"))
    digest.update(json.dumps(asdict(taxonomy_dimensions())).encode("utf-8"))
    digest.update(numbers_digest.digest())
    digest.update(plain_digest.digest())
    for variant_bytes in decided.variants:
        digest.update(b"%d|" % len(variant_bytes) + variant_bytes)
    return CollectedInputs(rows, digest.hexdigest(), len(resealed))


def _write_resealed(session: Session, resealed: list[dict[str, Any]]) -> None:
    table = StatisticalRecord.__table__
    statement = (
        table.update()
        .where(table.c.case_id == bindparam("b_case_id"))
        .values(symmetric=bindparam("b_symmetric"), symmetric_key_id=bindparam("b_key_id"))
    )
    for start in range(0, len(resealed), CHUNK):
        session.connection().execute(statement, resealed[start : start + CHUNK])
