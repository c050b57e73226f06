"""Staff reasons about a case, sealed to the case's public key.

A reason typed by staff (declining a case, a conflict, closing, clearing an urgent report,
asking for or deciding on an identity) can name people or organisations, so it is sealed
to the case key like a note: the server writes it without being able to read it.

Where it is kept:
- a reason on an identity request or decision: in that row, as ``sealed:`` and the
  envelope in base64;
- a reason in the audit log: the hash-chained log is never rewritten, so the envelope goes
  in ``case_reasons`` and the audit entry holds ``sealed-ref:<row id>:<commitment>``. The
  commitment is a SHA-256 of a random salt (sealed with the text) and the text, so the log
  still proves what was said, and says nothing to anyone who cannot open the envelope.
Both kinds are re-sealed by ``vault rotate`` (``reseal``) and destroyed by the retention
purge (``forget``). Text with neither prefix was written before reasons were sealed, and is
shown as it is; ``sealed:`` in an audit entry is from before ``case_reasons`` and stops
opening after a rotation.

Who reads them: the case key's holders (case officers, the assigned mediator, the
complainant). The admin's audit page says only that a reason was given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from mediation.models.audit import AuditEntry
from mediation.models.cases import Case, CaseReason, IdentityRequest
from mediation.models.time import as_utc
from mediation.services import staff_names
from mediation.services.case_keys import case_sealing_key, field_context
from mediation.vault import KeyPair, PublicKey, VaultError, open_text, seal_text

PREFIX = "sealed:"
REF_PREFIX = "sealed-ref:"
SEALED_LABEL = "reason given (sealed)"
UNREADABLE = "(a sealed reason that this key cannot open: it was sealed before a key rotation)"
DESTROYED = "(the reason was destroyed with the case's records)"
ALTERED = "(the stored reason does not match the audit log: it has been altered)"
_COMMITMENT = b"compact-mediation/v1\x00audit-reason\x00"

AUDIT = "audit-reason"


def request_field(request_id: int) -> str:
    return f"identity-request:{request_id}:reason"


def decision_field(decision_id: int) -> str:
    return f"identity-decision:{decision_id}:reason"


def is_sealed(value: str | None) -> bool:
    return bool(value) and str(value).startswith((PREFIX, REF_PREFIX))


def _reason_context(case: Case, row_id: int) -> str:
    return field_context(case, f"reason:{row_id}")


def _commitment(salt: bytes, text: str) -> str:
    return hashlib.sha256(_COMMITMENT + salt + text.encode("utf-8")).hexdigest()


def seal_reason(case: Case, text: str | None, field: str = AUDIT) -> str | None:
    """The reason sealed to the case key, as stored text; None for no reason.

    A case whose keys were destroyed keeps no new reason at all (it cannot be sealed)."""
    cleaned = (text or "").strip()
    if not cleaned or case.case_public_key is None:
        return None
    session = object_session(case)
    assert session is not None, "a reason is sealed to a case loaded in a session"
    public = case_sealing_key(session, case)
    if field == AUDIT:
        salt = secrets.token_bytes(16)
        row = CaseReason(case_id=case.id)
        session.add(row)
        session.flush()
        payload = json.dumps({"salt": salt.hex(), "text": cleaned})
        row.envelope = seal_text(payload, public, _reason_context(case, row.id))
        return f"{REF_PREFIX}{row.id}:{_commitment(salt, cleaned)}"
    envelope = seal_text(cleaned, public, field_context(case, field))
    return PREFIX + base64.b64encode(envelope).decode("ascii")


def _open_reference(
    case: Case, value: str, case_key: KeyPair, loaded: Mapping[int, CaseReason] | None
) -> str:
    row_id, _, commitment = value[len(REF_PREFIX) :].partition(":")
    session = object_session(case)
    row: CaseReason | None = None
    if row_id.isdigit():
        if loaded is not None:
            row = loaded.get(int(row_id))
        elif session is not None:
            row = session.get(CaseReason, int(row_id))
    if row is None or row.case_id != case.id or row.envelope is None:
        # Only the retention purge destroys a reason, and only with the case's keys.
        return DESTROYED if case.keys_destroyed_on is not None else ALTERED
    try:
        payload = json.loads(open_text(row.envelope, case_key, _reason_context(case, row.id)))
        salt, text = bytes.fromhex(payload["salt"]), str(payload["text"])
    except (VaultError, ValueError, KeyError, TypeError):
        return UNREADABLE
    if not secrets.compare_digest(_commitment(salt, text), commitment):
        return ALTERED
    return text


def open_reason(
    case: Case,
    value: str | None,
    case_key: KeyPair,
    field: str = AUDIT,
    loaded: Mapping[int, CaseReason] | None = None,
) -> str:
    """The reason as typed (legacy clear text as it is); a marker if it cannot be opened."""
    if not value:
        return ""
    if not is_sealed(value):
        return value
    if value.startswith(REF_PREFIX):
        return _open_reference(case, value, case_key, loaded)
    try:
        envelope = base64.b64decode(value[len(PREFIX) :], validate=True)
        return open_text(envelope, case_key, field_context(case, field))
    except (VaultError, binascii.Error, ValueError):
        return UNREADABLE


def for_admin(value: str | None) -> str:
    """What the admin's audit page shows: never a sealed reason's text."""
    if is_sealed(value):
        return SEALED_LABEL
    return value or ""


def reseal(session: Session, case: Case, old_case: KeyPair, new_case: KeyPair) -> None:
    """At key rotation: every reason (the audit log's, the identity requests' and the
    decisions'), to the new case key. Call it before the case's public key is replaced."""
    public = new_case.public_key()
    rows = session.execute(
        select(CaseReason).where(CaseReason.case_id == case.id, CaseReason.envelope.is_not(None))
    ).scalars()
    for row in rows:
        assert row.envelope is not None
        context = _reason_context(case, row.id)
        row.envelope = seal_text(open_text(row.envelope, old_case, context), public, context)
    requests = session.execute(
        select(IdentityRequest).where(IdentityRequest.case_id == case.id)
    ).scalars()
    for request in requests:
        field = request_field(request.id)
        request.reason = _reseal_one(case, request.reason, old_case, public, field)
        for decision in request.decisions:
            field = decision_field(decision.id)
            decision.reason = _reseal_one(case, decision.reason, old_case, public, field)


def _reseal_one(case: Case, value: str, old: KeyPair, new: PublicKey, field: str) -> str:
    if not is_sealed(value):
        return value
    text = open_reason(case, value, old, field)
    envelope = seal_text(text, new, field_context(case, field))
    return PREFIX + base64.b64encode(envelope).decode("ascii")


def load_for(session: Session, case: Case) -> dict[int, CaseReason]:
    """The case's sealed audit reasons by id, in one statement: given to `open_reason` for
    each entry, so that a case's history is read in the same few statements however many
    reasons it has."""
    rows = session.execute(select(CaseReason).where(CaseReason.case_id == case.id)).scalars()
    return {row.id: row for row in rows}


def forget(session: Session, case: Case) -> None:
    """At the retention purge: the audit log's reasons are destroyed with the case's keys
    (the log keeps only that a reason was given, and its commitment)."""
    for row in session.execute(select(CaseReason).where(CaseReason.case_id == case.id)).scalars():
        row.envelope = None


@dataclass(frozen=True)
class GivenReason:
    """One reason in a case's history, opened for someone holding the case key."""

    on: date
    who: str
    action: str
    reason: str


def history(
    session: Session, case: Case, case_key: KeyPair, *, only_by: int | None = None
) -> list[GivenReason]:
    """Every reason recorded against the case in the audit log, opened, oldest first.

    `only_by` keeps one staff member's own reasons (a mediator's view: a conflict declared
    by another mediator is for the case officers only)."""
    query = select(AuditEntry).where(
        AuditEntry.case_reference == case.reference, AuditEntry.reason.is_not(None)
    )
    if only_by is not None:
        query = query.where(AuditEntry.actor_kind == "staff", AuditEntry.actor_id == only_by)
    entries = session.execute(query.order_by(AuditEntry.seq)).scalars().all()
    loaded = load_for(session, case) if entries else {}
    names = staff_names.names(session, (e.actor_id for e in entries if e.actor_kind == "staff"))
    rows = []
    for entry in entries:
        if not entry.reason:
            continue
        who = (
            names.get(entry.actor_id or -1, "a staff member")
            if entry.actor_kind == "staff"
            else entry.actor_kind
        )
        rows.append(
            GivenReason(
                on=as_utc(entry.occurred_at).date(),
                who=who,
                action=entry.action,
                reason=open_reason(case, entry.reason, case_key, loaded=loaded),
            )
        )
    return rows
