"""Disclosure of a complainant's identity: requests, approvals, views and openness."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.domain.permissions import CASE_OFFICER, MEDIATOR
from mediation.models.audit import AuditEntry
from mediation.models.cases import Case, IdentityDecision, IdentityRequest
from mediation.models.staff import StaffUser
from mediation.models.time import as_utc, utcnow
from mediation.services import case_keys, complaints, sealed_reasons, settings, staff_names
from mediation.services.audit import Actor, record
from mediation.services.case_keys import CASE_KEY, IDENTITY_KEY, field_context
from mediation.services.errors import InvalidInput, NotAllowed, NotFound
from mediation.vault import KeyPair, open_text, seal_text

LEVELS = {"anonymous": 0, "confidential": 1, "open": 2}
MIN_REASON = 10


def staff_actor(user: StaffUser) -> Actor:
    return Actor(kind="staff", label=f"{user.role}:{user.email}", id=user.id)


def _reason(text: str) -> str:
    cleaned = (text or "").strip()
    if len(cleaned) < MIN_REASON:
        raise InvalidInput("Give a reason of at least a few words: it is shown to the complainant.")
    return cleaned


def assign_mediator(
    session: Session, officer: StaffUser, officer_key: KeyPair, case: Case, mediator: StaffUser
) -> None:
    """Seal the case key to the mediator (never the identity key); take it from any other."""
    if officer.role != CASE_OFFICER:
        raise NotAllowed("Only a case officer can assign a mediator.")
    if mediator.role != MEDIATOR or not mediator.active:
        raise InvalidInput("Choose an active mediator.")
    case = case_keys.lock_case(session, case)
    case_key = case_keys.open_grant(case, CASE_KEY, officer_key)
    if case.mediator_id and case.mediator_id != mediator.id:
        case_keys.revoke_staff_grants(case, case.mediator_id)
    case_keys.seal_grant(
        session, case, CASE_KEY, case_key, case_keys.staff_holder(session, mediator)
    )
    case.mediator_id = mediator.id
    record(
        session,
        staff_actor(officer),
        "case.mediator_assigned",
        case_reference=case.reference,
        details={"mediator_id": mediator.id},
    )


def request_identity(
    session: Session, mediator: StaffUser, case: Case, reason: str
) -> IdentityRequest:
    if mediator.role != MEDIATOR or case.mediator_id != mediator.id:
        raise NotAllowed("Only the mediator assigned to this case can ask to see who complained.")
    if case.identity is None:
        raise InvalidInput("This complaint was made anonymously: there is no identity to see.")
    pending = session.execute(
        select(IdentityRequest).where(
            IdentityRequest.case_id == case.id,
            IdentityRequest.mediator_id == mediator.id,
            IdentityRequest.status == "pending",
        )
    ).scalar_one_or_none()
    if pending is not None:
        raise InvalidInput("You already have a request waiting for a decision on this case.")
    cleaned = _reason(reason)
    # The reason is sealed to the case key: its holders (case officers, this mediator,
    # the complainant) read it; the server and the admin cannot.
    request = IdentityRequest(case_id=case.id, mediator_id=mediator.id, reason="", status="pending")
    session.add(request)
    session.flush()
    request.reason = _sealed(case, cleaned, sealed_reasons.request_field(request.id))
    record(
        session,
        staff_actor(mediator),
        "identity.requested",
        case_reference=case.reference,
        reason=_sealed(case, cleaned),
        details={"request_id": request.id},
    )
    return request


def _sealed(case: Case, text: str, field: str = sealed_reasons.AUDIT) -> str:
    sealed = sealed_reasons.seal_reason(case, text, field)
    if sealed is None:
        raise InvalidInput("This case's keys have been destroyed: nothing more can be recorded.")
    return sealed


def request_reason(case: Case, request: IdentityRequest, case_key: KeyPair) -> str:
    """A request's reason, opened with the case key (case officers and the mediator)."""
    return sealed_reasons.open_reason(
        case, request.reason, case_key, sealed_reasons.request_field(request.id)
    )


def request_reason_for(case: Case, request: IdentityRequest, user_key: KeyPair) -> str:
    """A request's reason for a staff member: opened if they hold the case key."""
    try:
        case_key = case_keys.open_grant(case, CASE_KEY, user_key)
    except NotAllowed:
        return sealed_reasons.for_admin(request.reason)
    return request_reason(case, request, case_key)


def decision_reason(case: Case, decision: IdentityDecision, case_key: KeyPair) -> str:
    return sealed_reasons.open_reason(
        case, decision.reason, case_key, sealed_reasons.decision_field(decision.id)
    )


def decide_identity_request(
    session: Session,
    officer: StaffUser,
    officer_key: KeyPair,
    request_id: int,
    *,
    approve: bool,
    reason: str,
) -> IdentityRequest:
    """Record one officer's decision; on enough approvals, seal the identity key to the mediator."""
    if officer.role != CASE_OFFICER:
        raise NotAllowed("Only a case officer can decide on identity requests.")
    request = session.get(IdentityRequest, request_id)
    if request is None:
        raise NotFound("There is no such request.")
    cleaned = _reason(reason)
    case = session.get(Case, request.case_id)
    assert case is not None
    # Decisions on one case queue on its lock; each then reads the request, and the
    # decisions on it, as the one before left them (two officers approving at once make
    # two approvals, and one disclosure).
    case = case_keys.lock_case(session, case)
    session.refresh(request)
    session.expire(request, ["decisions"])
    if request.status != "pending":
        raise InvalidInput(f"This request was already {request.status}.")
    if any(d.officer_id == officer.id for d in request.decisions):
        raise InvalidInput("You have already decided on this request; another officer must.")
    # Only a custodian of this case decides: one whose key holds its identity key. A case
    # officer account nobody has admitted (which an admin can make) must not count as
    # one of two approvals.
    try:
        case_keys.open_grant(case, IDENTITY_KEY, officer_key)
    except case_keys.NotAHolder as exc:
        raise NotAllowed(
            "Only a case officer who holds this case's keys can decide on this request. "
            "Ask a custodian to admit you first."
        ) from exc
    decision = IdentityDecision(officer_id=officer.id, approved=approve, reason="")
    request.decisions.append(decision)
    session.flush()
    decision.reason = _sealed(case, cleaned, sealed_reasons.decision_field(decision.id))
    actor = staff_actor(officer)
    if not approve:
        request.status = "refused"
        request.decided_at = utcnow()
        record(
            session,
            actor,
            "identity.refused",
            case_reference=case.reference,
            reason=_sealed(case, cleaned),
        )
        return request
    approvals = sum(1 for d in request.decisions if d.approved)
    needed = settings.get_setting(session, "identity_approvals_required")
    record(
        session,
        actor,
        "identity.approval_given",
        case_reference=case.reference,
        reason=_sealed(case, cleaned),
        details={"approvals": approvals, "needed": needed},
    )
    if approvals >= needed:
        mediator = session.get(StaffUser, request.mediator_id)
        assert mediator is not None
        if case.mediator_id != mediator.id:
            raise InvalidInput("That mediator is no longer assigned to this case.")
        identity_key = case_keys.open_grant(case, IDENTITY_KEY, officer_key)
        officer_case_key = case_keys.open_grant(case, CASE_KEY, officer_key)
        case_keys.seal_grant(
            session, case, IDENTITY_KEY, identity_key, case_keys.staff_holder(session, mediator)
        )
        request.status = "approved"
        request.decided_at = utcnow()
        record(
            session,
            actor,
            "identity.disclosed",
            case_reference=case.reference,
            reason=_sealed(case, request_reason(case, request, officer_case_key)),
            details={"to_user_id": mediator.id},
        )
    return request


def read_identity(
    session: Session, user: StaffUser, user_key: KeyPair, case: Case, reason: str
) -> dict[str, Any]:
    """Open the identity (custodian, or a mediator after approval); every view is logged."""
    if case.identity is None:
        raise InvalidInput("This complaint was made anonymously: there is no identity to see.")
    cleaned = _reason(reason)
    identity_key = case_keys.open_grant(case, IDENTITY_KEY, user_key)
    data: dict[str, Any] = json.loads(
        open_text(case.identity, identity_key, field_context(case, "identity"))
    )
    record(
        session,
        staff_actor(user),
        "identity.viewed",
        case_reference=case.reference,
        reason=_sealed(case, cleaned),
    )
    return data


@dataclass(frozen=True)
class Disclosure:
    """One line of the complainant's disclosure log."""

    on: date
    who: str
    what: str
    why: str


DISCLOSURE_WORDING = {
    "identity.requested": "asked to see who complained",
    "identity.approval_given": "approved a request to see who complained",
    "identity.refused": "refused a request to see who complained",
    "identity.disclosed": "gave a mediator access to who complained",
    "identity.viewed": "saw who complained",
    "case.made_open": "you shared who you are with the public body",
}


def disclosure_log(
    session: Session, case: Case, case_key: KeyPair | None = None
) -> list[Disclosure]:
    """Who asked, decided and saw, when and why. The reasons are sealed to the case key:
    without it (`case_key` None) a sealed reason reads only as "reason given (sealed)"."""
    entries = (
        session.execute(
            select(AuditEntry)
            .where(
                AuditEntry.case_reference == case.reference,
                AuditEntry.action.in_(list(DISCLOSURE_WORDING)),
            )
            .order_by(AuditEntry.seq)
        )
        .scalars()
        .all()
    )
    loaded = sealed_reasons.load_for(session, case) if entries and case_key is not None else {}
    names = staff_names.names(
        session, (e.actor_id for e in entries if e.actor_kind == "staff"), with_role=True
    )
    return [
        Disclosure(
            on=as_utc(e.occurred_at).date(),
            who=names.get(e.actor_id or -1, "you") if e.actor_kind == "staff" else "you",
            what=DISCLOSURE_WORDING[e.action],
            why=sealed_reasons.open_reason(case, e.reason, case_key, loaded=loaded)
            if case_key is not None
            else sealed_reasons.for_admin(e.reason),
        )
        for e in entries
    ]


def increase_openness(
    session: Session,
    case: Case,
    complainant_key: KeyPair,
    new_level: str,
    *,
    confirmed: bool,
    identity: dict[str, Any] | None = None,
) -> None:
    """The complainant's own act: openness only grows, and open cannot be undone."""
    case = case_keys.lock_case(session, case)
    if new_level not in LEVELS:
        raise InvalidInput("Choose how open your complaint is.")
    if LEVELS[new_level] <= LEVELS[case.openness]:
        raise InvalidInput("Openness can only be increased, never reduced.")
    if not confirmed:
        raise InvalidInput("Confirm that you understand this cannot be undone.")
    if complainant_key.key_id != case.complainant_key_id:
        raise NotAllowed()
    if case.identity is None:
        if not identity:
            raise InvalidInput("Tell us who you are to make your complaint less anonymous.")
        text = json.dumps(identity, sort_keys=True)
        case.identity = seal_text(
            text,
            case_keys.case_sealing_key(session, case, IDENTITY_KEY),
            field_context(case, "identity"),
        )
        case.identity_copy = seal_text(
            text, complainant_key.public_key(), field_context(case, "identity-copy")
        )
    if new_level == "open":
        assert case.identity_copy is not None
        case.shared_identity = complaints.shared_part(
            json.loads(
                open_text(case.identity_copy, complainant_key, field_context(case, "identity-copy"))
            )
        )
    case.openness = new_level
    record(
        session,
        Actor.complainant(),
        "case.made_open" if new_level == "open" else "case.made_confidential",
        case_reference=case.reference,
        reason="the complainant's own choice",
    )
