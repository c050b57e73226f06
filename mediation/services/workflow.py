"""Performing workflow actions on a case: the only way a case changes state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.domain import clocks, workflow
from mediation.models.cases import Case, CaseEvent
from mediation.models.casework import (
    AgreementToMediate,
    CaseClock,
    DisclosureStatement,
    FundingCheck,
    MediatorOffer,
    Outcome,
)
from mediation.models.time import utcnow
from mediation.services import case_clocks, notifications, sealed_reasons
from mediation.services.audit import Actor, record
from mediation.services.case_keys import lock_case
from mediation.services.errors import ServiceError


class ActionRefused(ServiceError):
    """The workflow refused the action; nothing was changed."""


class CaseChanged(ActionRefused):
    """Someone else moved the case between the page being shown and the form being sent."""


# Fields whose values may be stored with the event and the audit entry: codes and ids only,
# never free text, which could hold a name or part of the narrative.
STRUCTURED_FIELDS = (
    "decline_reason",
    "agreement",
    "result",
    "mediator_id",
    "referred_to",
    "duplicate_of",
)


def facts(session: Session, case: Case, actor: Actor) -> dict[str, bool]:
    """What the transition table's guards need to know about the case's records."""
    offers = list(
        session.execute(select(MediatorOffer).where(MediatorOffer.case_id == case.id)).scalars()
    )
    terms = session.execute(
        select(AgreementToMediate).where(AgreementToMediate.case_id == case.id)
    ).scalar_one_or_none()
    approved = session.execute(
        select(DisclosureStatement.id).where(
            DisclosureStatement.case_id == case.id, DisclosureStatement.status == "approved"
        )
    ).first()
    outcome = session.execute(select(Outcome.id).where(Outcome.case_id == case.id)).first()
    return facts_of(
        case,
        actor,
        offers=offers,
        terms=terms,
        statement_approved=approved is not None,
        outcome_recorded=outcome is not None,
    )


def facts_of(
    case: Case,
    actor: Actor,
    *,
    offers: list[MediatorOffer],
    terms: AgreementToMediate | None,
    statement_approved: bool,
    outcome_recorded: bool,
) -> dict[str, bool]:
    """`facts` from records already read (as the case page reads them to show them)."""
    mine = [o for o in offers if actor.kind == "staff" and o.mediator_id == actor.id]
    return {
        "offer_pending": any(o.status == "offered" for o in mine),
        "offer_accepted": any(o.status == "accepted" for o in mine),
        "mediator_confirmed": case.mediator_id is not None
        and any(o.status == "confirmed" and o.mediator_id == case.mediator_id for o in offers),
        "agreement_to_mediate_signed": bool(
            terms and terms.complainant_signed_on and terms.respondent_signed_on
        ),
        "respondent_agreed": bool(terms and terms.respondent_answer == "agreed"),
        "respondent_not_answered": not (terms and terms.respondent_answer),
        "statement_approved": statement_approved,
        "outcome_recorded": outcome_recorded,
    }


def check(
    session: Session,
    case: Case,
    action: str,
    actor: Actor,
    *,
    role: str,
    fields: Mapping[str, Any] | None = None,
) -> workflow.Plan:
    """Would the action be allowed now? Raises ActionRefused saying why not; changes nothing."""
    try:
        return workflow.plan(
            case.state,
            action,
            role,
            dict(fields or {}),
            state_before_hold=case.state_before_hold,
            facts=facts(session, case, actor),
        )
    except workflow.TransitionRefused as exc:
        raise ActionRefused(str(exc)) from exc


def perform(
    session: Session,
    case: Case,
    action: str,
    actor: Actor,
    *,
    role: str,
    fields: Mapping[str, Any] | None = None,
    expected_state: str | None = None,
) -> workflow.Plan:
    """Check the action against the transition table, move the case, its clocks and its
    notifications, log it. Caller commits (and rolls back on ActionRefused).

    `expected_state` is the state the person acting saw: if the case has moved on since
    (another case officer acted first), the action is refused and nothing changes.

    A staff member's `fields["reason"]` goes to the audit log as the reason, sealed to
    the case key (`sealed_reasons`). A
    complainant's reason is their own words, so it is sealed to the case as a message to
    the case officers instead, and never stored in the clear.
    """
    fields = dict(fields or {})
    case = lock_case(session, case)
    if expected_state is not None and case.state != expected_state:
        raise CaseChanged(
            "Someone else changed this case while you were looking at it: it is now "
            f"{workflow.state_label(case.state).lower()}. Nothing was changed; look at the "
            "case again before you act."
        )
    planned = check(session, case, action, actor, role=role, fields=fields)
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
    # Anyone else's reason can name people or organisations: it is sealed to the case key,
    # read by its holders on the case's pages, and shown to the admin only as "given".
    reason = sealed_reasons.seal_reason(case, reason)
    record(
        session,
        actor,
        f"case.{action}",
        case_reference=case.reference,
        reason=reason,
        details={"from": planned.from_state, "to": planned.to_state, **details},
    )
    case_clocks.move(session, case, action, planned.from_state, planned.to_state)
    _start_reply_clock_when_due(session, case, planned)
    _schedule_funding_checks(session, case, planned)
    from mediation.services import routing  # routing performs its steps through here

    routing.end_offers_left_behind(session, case, action, planned.from_state, planned.to_state)
    mediator_id = (
        int(fields["mediator_id"]) if str(fields.get("mediator_id", "")).isdigit() else None
    )
    notifications.for_action(session, case, action, actor, mediator_id=mediator_id)
    return planned


def _start_reply_clock_when_due(session: Session, case: Case, planned: workflow.Plan) -> None:
    """A statement approved while the public body could not yet answer (in triage), or a
    case taken on again after its clock was stopped, starts the body's 20 working days
    when the case reaches a state in which it can answer, unless it has answered."""
    from mediation.services import disclosure_statements

    if planned.to_state not in workflow.RESPONDENT_ACTIVE:
        return
    if planned.from_state in workflow.RESPONDENT_ACTIVE:
        return
    answered = session.execute(
        select(CaseClock.id).where(
            CaseClock.case_id == case.id,
            CaseClock.kind == clocks.RESPONDENT_REPLY,
            CaseClock.met_on.is_not(None),
        )
    ).first()
    if answered is None and disclosure_statements.approved(session, case) is not None:
        case_clocks.start_clock(session, case, clocks.RESPONDENT_REPLY)  # unless running


def _schedule_funding_checks(session: Session, case: Case, planned: workflow.Plan) -> None:
    """Closure schedules the retaliation checks; reopening cancels the ones not yet done."""
    from mediation.domain.clocks import funding_check_dates

    existing = list(
        session.execute(select(FundingCheck).where(FundingCheck.case_id == case.id)).scalars()
    )
    if planned.to_state == "closed" and planned.from_state != "closed" and case.closed_on:
        if any(c.status == "scheduled" for c in existing):
            return  # closure upheld after a contest: the first closure's checks stand
        for months, due in funding_check_dates(case.closed_on):
            session.add(FundingCheck(case_id=case.id, months=months, due_on=due))
    elif planned.transition.action == "reopen":
        for check_row in existing:
            if check_row.status == "scheduled":
                check_row.status = "cancelled"
