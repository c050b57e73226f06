"""Staff reasons about a case, sealed to the case's public key.

A reason typed by staff (declining a case, a conflict, closing, clearing an urgent report,
asking for or deciding on an identity) can name people or organisations, so it is sealed
to the case key like a note: the server writes it without being able to read it. It is
kept where the reason always was (the audit entry, the identity request or decision), as
text: ``sealed:`` and the envelope in base64. Text without the prefix is a reason written
before reasons were sealed, and is shown as it is.

Who reads them: the case key's holders (case officers, the assigned mediator, the
complainant). The admin's audit page says only that a reason was given.

The audit log cannot be rewritten, so a reason sealed into an audit entry is not re-sealed
by ``vault rotate``: after a rotation it no longer opens, and is shown as such. Reasons kept
on identity requests and decisions are re-sealed (``reseal``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from mediation.models.audit import AuditEntry
from mediation.models.cases import Case, IdentityRequest
from mediation.models.staff import StaffUser
from mediation.models.time import as_utc
from mediation.services.case_keys import case_sealing_key, field_context
from mediation.vault import KeyPair, PublicKey, VaultError, open_text, seal_text

PREFIX = "sealed:"
SEALED_LABEL = "reason given (sealed)"
UNREADABLE = "(a sealed reason that this key cannot open: it was sealed before a key rotation)"

AUDIT = "audit-reason"


def request_field(request_id: int) -> str:
    return f"identity-request:{request_id}:reason"


def decision_field(decision_id: int) -> str:
    return f"identity-decision:{decision_id}:reason"


def is_sealed(value: str | None) -> bool:
    return bool(value) and str(value).startswith(PREFIX)


def seal_reason(case: Case, text: str | None, field: str = AUDIT) -> str | None:
    """The reason sealed to the case key, as stored text; None for no reason.

    A case whose keys were destroyed keeps no new reason at all (it cannot be sealed)."""
    cleaned = (text or "").strip()
    if not cleaned or case.case_public_key is None:
        return None
    session = object_session(case)
    assert session is not None, "a reason is sealed to a case loaded in a session"
    envelope = seal_text(cleaned, case_sealing_key(session, case), field_context(case, field))
    return PREFIX + base64.b64encode(envelope).decode("ascii")


def open_reason(case: Case, value: str | None, case_key: KeyPair, field: str = AUDIT) -> str:
    """The reason as typed (legacy clear text as it is); a marker if it cannot be opened."""
    if not value:
        return ""
    if not is_sealed(value):
        return value
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
    """At key rotation: the identity requests' and decisions' reasons, to the new case key.

    Call it before the case's public key is replaced."""
    public = new_case.public_key()
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
    entries = session.execute(query.order_by(AuditEntry.seq)).scalars()
    names = {u.id: u.name for u in session.execute(select(StaffUser)).scalars()}
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
                reason=open_reason(case, entry.reason, case_key),
            )
        )
    return rows
