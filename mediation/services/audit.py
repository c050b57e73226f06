"""Write to and verify the append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from mediation.models.audit import AuditEntry, AuditHead
from mediation.models.time import as_utc, utc_day, utcnow

GENESIS_HASH = "0" * 64
COMPLAINANT = "complainant"


@dataclass(frozen=True)
class Actor:
    """Who did something: a staff user, a complainant (by case) or the system."""

    kind: str
    label: str
    id: int | None = None

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind="system", label=label)

    @classmethod
    def complainant(cls) -> Actor:
        return cls(kind=COMPLAINANT, label=COMPLAINANT)


def entry_digest(
    *,
    seq: int,
    occurred_at: str,
    actor_kind: str,
    actor_id: int | None,
    actor_label: str,
    action: str,
    case_reference: str | None,
    reason: str | None,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over a canonical JSON form of every recorded field and the previous hash."""
    canonical = json.dumps(
        [
            seq,
            occurred_at,
            actor_kind,
            actor_id,
            actor_label,
            action,
            case_reference,
            reason,
            details,
            prev_hash,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _timestamp(entry: AuditEntry) -> str:
    return as_utc(entry.occurred_at).isoformat(timespec="microseconds")


def digest_of(entry: AuditEntry) -> str:
    """Recompute an entry's hash from what is stored."""
    return entry_digest(
        seq=entry.seq,
        occurred_at=_timestamp(entry),
        actor_kind=entry.actor_kind,
        actor_id=entry.actor_id,
        actor_label=entry.actor_label,
        action=entry.action,
        case_reference=entry.case_reference,
        reason=entry.reason,
        details=entry.details or {},
        prev_hash=entry.prev_hash,
    )


@dataclass(frozen=True)
class Entry:
    """One entry to append: what was done, to which case, and why."""

    action: str
    case_reference: str | None = None
    reason: str | None = None
    details: dict[str, Any] | None = None


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    case_reference: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction; the caller commits.

    Details must never hold an identity, passphrase or narrative: only identifiers and
    labels. See `record_all`.
    """
    return record_all(session, actor, [Entry(action, case_reference, reason, details)])[0]


def record_all(session: Session, actor: Actor, entries: Sequence[Entry]) -> list[AuditEntry]:
    """Append entries by one actor, in order, in the caller's transaction; the caller commits.

    The head row is updated first, which takes a row lock on PostgreSQL and the write lock
    on SQLite, so concurrent writers queue up instead of forking the chain. That one
    statement both moves the head on by every entry and returns where it stood (RETURNING),
    so several entries cost three statements in all, the same as one: the head, the
    entries' INSERT and the head's new hash. The chain is exactly that of recording each in
    turn.
    """
    if not entries:
        return []
    session.flush()
    moved = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(last_seq=AuditHead.last_seq + len(entries))
        .returning(AuditHead.last_seq, AuditHead.last_hash)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if moved is None:
        raise RuntimeError("The audit log's head row is missing: run the database migrations.")
    seq, prev_hash = moved.last_seq - len(entries), moved.last_hash
    # A complainant's act is kept to the day (G11): the administrator reads this log, and
    # the entry's place in the chain (seq) already orders it.
    occurred_at = utc_day() if actor.kind == COMPLAINANT else utcnow()
    written = []
    for wanted in entries:
        seq += 1
        entry = AuditEntry(
            seq=seq,
            occurred_at=occurred_at,
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_label=actor.label,
            action=wanted.action,
            case_reference=wanted.case_reference,
            reason=wanted.reason,
            details=wanted.details or {},
            prev_hash=prev_hash,
        )
        entry.entry_hash = prev_hash = digest_of(entry)
        written.append(entry)
    session.add_all(written)
    session.flush()
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(last_hash=prev_hash)
        .execution_options(synchronize_session=False)
    )
    # A copy of the head this session loaded earlier no longer says where the chain ends.
    head = session.identity_map.get(identity_key(AuditHead, 1))
    if head is not None:
        session.expire(head)
    return written


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of checking the chain: ok, or the first entry that is wrong and why."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Anchor:
    """The chain's head at a moment, to be kept outside the database.

    The chain alone shows an edit, but someone who can write the database could rebuild it
    from the first entry onwards. Once a head is recorded somewhere they cannot reach
    (another machine, a printout, an email to the board), any such rebuild, or a
    truncation, no longer matches it."""

    seq: int
    entry_hash: str
    at: datetime

    def line(self) -> str:
        return f"audit-anchor {self.seq} {self.entry_hash} {as_utc(self.at).isoformat()}"


_ANCHOR_LINE = re.compile(r"^audit-anchor (\d+) ([0-9a-f]{64}) (\S+)$")


def current_anchor(session: Session) -> Anchor:
    head = session.get(AuditHead, 1)
    return Anchor(head.last_seq if head else 0, head.last_hash if head else GENESIS_HASH, utcnow())


def parse_anchors(lines: Iterable[str]) -> list[Anchor]:
    """The anchors in the lines that `flask audit anchor` printed; other lines are skipped.

    Raises ValueError naming a line that starts like an anchor but is malformed, or when
    there is no anchor at all (a check against nothing would pass whatever the log)."""
    anchors = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text.startswith("audit-anchor"):
            continue
        match = _ANCHOR_LINE.match(text)
        try:
            at = datetime.fromisoformat(match.group(3)) if match else None
        except ValueError:
            at = None
        if match is None or at is None:
            raise ValueError(f"line {number} is not an anchor written by `flask audit anchor`")
        anchors.append(Anchor(int(match.group(1)), match.group(2), at))
    if not anchors:
        raise ValueError("there is no anchor in it (lines printed by `flask audit anchor`)")
    return anchors


def check_anchors(session: Session, anchors: Iterable[Anchor]) -> VerificationResult | None:
    """The first anchor the log no longer matches, as a failed result; None if all match."""
    head = session.get(AuditHead, 1)
    head_seq = head.last_seq if head else 0
    for anchor in sorted(anchors, key=lambda a: a.seq):
        if anchor.seq == 0:
            continue
        if anchor.seq > head_seq:
            return VerificationResult(
                False,
                0,
                head_seq + 1,
                f"the log ends at entry {head_seq}, but entry {anchor.seq} was anchored: "
                "entries were deleted from the end",
            )
        stored = session.execute(
            select(AuditEntry.entry_hash).where(AuditEntry.seq == anchor.seq)
        ).scalar_one_or_none()
        if stored != anchor.entry_hash:
            return VerificationResult(
                False,
                0,
                anchor.seq,
                f"entry {anchor.seq} is not the one anchored: the log was rewritten up to it",
            )
    return None


def verify(
    session: Session, batch_size: int = 1000, anchors: Iterable[Anchor] = ()
) -> VerificationResult:
    """Walk the chain in order and name the first edited, inserted or deleted entry; then
    check it still holds every anchor recorded outside the database."""
    result = _verify_chain(session, batch_size)
    if not result.ok:
        return result
    return check_anchors(session, anchors) or result


def _verify_chain(session: Session, batch_size: int) -> VerificationResult:
    head = session.get(AuditHead, 1)
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seen = 0
    while True:
        entries = (
            session.execute(
                select(AuditEntry)
                .where(AuditEntry.seq >= expected_seq)
                .order_by(AuditEntry.seq)
                .limit(batch_size)
            )
            .scalars()
            .all()
        )
        if not entries:
            break
        for entry in entries:
            if entry.seq != expected_seq:
                return VerificationResult(
                    False,
                    checked,
                    expected_seq,
                    f"entry {expected_seq} is missing (deleted); the next entry is {entry.seq}",
                )
            if entry.prev_hash != expected_prev:
                return VerificationResult(
                    False,
                    checked,
                    entry.seq,
                    f"entry {entry.seq} does not follow entry {entry.seq - 1} "
                    "(an entry was inserted, deleted or rewritten before it)",
                )
            if digest_of(entry) != entry.entry_hash:
                return VerificationResult(
                    False, checked, entry.seq, f"entry {entry.seq} was edited after it was written"
                )
            expected_prev = entry.entry_hash
            expected_seq += 1
            last_seen = entry.seq
            checked += 1
    head_seq = head.last_seq if head else 0
    head_hash = head.last_hash if head else GENESIS_HASH
    if head_seq != last_seen or head_hash != expected_prev:
        if head_seq > last_seen:
            return VerificationResult(
                False,
                checked,
                last_seen + 1,
                f"entries {last_seen + 1} to {head_seq} are missing (deleted from the end)",
            )
        return VerificationResult(
            False,
            checked,
            head_seq + 1 if head_seq < last_seen else last_seen,
            f"entry {min(head_seq + 1, last_seen)} was added outside the audit service",
        )
    return VerificationResult(True, checked)
