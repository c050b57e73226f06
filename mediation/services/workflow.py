"""Performing workflow actions on a case: the only way a case changes state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from mediation.domain import workflow
from mediation.models.cases import Case, CaseEvent
from mediation.models.time import utcnow
from mediation.services.audit import Actor, record
from mediation.services.errors import ServiceError


class ActionRefused(ServiceError):
    """The workflow refused the action; nothing was changed."""


# Fields whose values may be stored with the event and the audit entry: codes and ids only,
# never free text, which could hold a name or part of the narrative.
STRUCTURED_FIELDS = ("decline_reason", "agreement", "result", "mediator_id", "referred_to")


def perform(
    session: Session,
    case: Case,
    action: str,
    actor: Actor,
    *,
    role: str,
    fields: Mapping[str, Any] | None = None,
) -> workflow.Plan:
    """Check the action against the transition table, move the case, log it. Caller commits.

    A staff member's `fields["reason"]` goes to the audit log as the reason. A
    complainant's reason is their own words, so it is sealed to the case as a message to
    the case officers instead, and never stored in the clear.
    """
    fields = dict(fields or {})
    try:
        planned = workflow.plan(
            case.state, action, role, fields, state_before_hold=case.state_before_hold
        )
    except workflow.TransitionRefused as exc:
        raise ActionRefused(str(exc)) from exc
    if planned.to_state == "on_hold":
        case.state_before_hold = case.state
    elif planned.transition.action == "resume":
        case.state_before_hold = None
    if action == "report_adverse_treatment":
        case.urgent = True
    if planned.to_state == "closed":
        case.closed_on = utcnow().date()
    elif planned.from_state == "closed":
        case.closed_on = None
    case.state = planned.to_state
    details = {k: fields[k] for k in STRUCTURED_FIELDS if fields.get(k) not in (None, "")}
    session.add(
        CaseEvent(
            case_id=case.id,
            action=action,
            from_state=planned.from_state,
            to_state=planned.to_state,
            actor_role=role,
            actor_id=actor.id if actor.kind == "staff" else None,
            occurred_on=utcnow().date(),
            details=details,
        )
    )
    reason = str(fields.get("reason") or "").strip() or None
    if role == workflow.COMPLAINANT and reason:
        from mediation.services.complaints import add_message

        add_message(session, case, actor, reason, audience="case_officer")
        reason = None
    record(
        session,
        actor,
        f"case.{action}",
        case_reference=case.reference,
        reason=reason,
        details={"from": planned.from_state, "to": planned.to_state, **details},
    )
    return planned
