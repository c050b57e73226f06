"""Outcomes in the standardised format of COMPACT.md: result, remedies (with amounts),
outcome sought against achieved, each party's satisfaction, and the funding-continuity
(retaliation) checks 3 and 12 months after closure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.domain.permissions import CASE_OFFICER, MEDIATOR
from mediation.domain.taxonomy import load_taxonomy
from mediation.domain.workflow import GUARDS
from mediation.models.cases import Case
from mediation.models.casework import FundingCheck, Outcome, SatisfactionResponse
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services import sealed_reasons
from mediation.services.accounts import actor_for
from mediation.services.audit import Actor, record
from mediation.services.errors import InvalidInput, NotAllowed, NotFound
from mediation.services.workflow import ActionRefused, perform

PARTIES = ("complainant", "respondent")
FINDINGS = {
    "continued": "Funding continued as before",
    "reduced": "Funding reduced",
    "ended": "Funding ended",
    "not_applicable": "No funding relationship to check",
}
ADVERSE_FINDINGS = frozenset({"reduced", "ended"})
MAX_AMOUNT = 10_000_000
# Once the case is over (or nearly), its outcome can be recorded.
# Results that only some ends of a case can have (a contested closure keeps the result
# it was closed with, so it admits any): the statistics count them as they are recorded.
AGREEMENT_STATES = frozenset({"agreement", "implementation_check", "closure_contested"})
AGREEMENTS = frozenset({"mediated_agreement_full", "mediated_agreement_partial"})


def _result_against_path(state: str, result: str) -> str | None:
    """Why the result cannot be this case's, or None."""
    if state == "withdrawn" and result != "withdrawn":
        return 'The complainant withdrew this complaint: the result is "withdrawn".'
    if result == "withdrawn" and state not in {"withdrawn", "closure_contested"}:
        return 'Only a withdrawn complaint has the result "withdrawn".'
    if result in AGREEMENTS and state not in AGREEMENT_STATES:
        return "A mediated agreement is the result only of a case that reached an agreement."
    return None


OUTCOME_STATES = frozenset(
    {
        "not_accepted",
        "informal_resolution",
        "agreement",
        "no_agreement",
        "implementation_check",
        "referred",
        "withdrawn",
        "respondent_declined",
        "closure_contested",
    }
)


@dataclass(frozen=True)
class RemedyInput:
    id: str
    amount: int | None = None


def outcome_of(session: Session, case: Case) -> Outcome | None:
    return session.execute(select(Outcome).where(Outcome.case_id == case.id)).scalar_one_or_none()


def _scale(value: int | None, what: str) -> int | None:
    if value is None:
        return None
    if not 1 <= value <= 5:
        raise InvalidInput(f"Rate the {what} from 1 to 5.")
    return value


def record_outcome(
    session: Session,
    author: StaffUser,
    case: Case,
    *,
    result: str,
    remedies: list[RemedyInput],
    sought: list[str],
    relationship_before: int | None = None,
    relationship_after: int | None = None,
) -> Outcome:
    """Record (or correct) the outcome, by a case officer or the case's mediator."""
    if not (
        author.role == CASE_OFFICER or (author.role == MEDIATOR and case.mediator_id == author.id)
    ):
        raise NotAllowed("Only a case officer or the case's mediator can record the outcome.")
    if case.state not in OUTCOME_STATES:
        raise InvalidInput("The outcome is recorded when the case is ending.")
    taxonomy = load_taxonomy()
    if result not in {r.id for r in taxonomy.results}:
        raise InvalidInput("Choose the result.")
    if problem := _result_against_path(case.state, result):
        raise InvalidInput(problem)
    known = {r.id: r for r in taxonomy.remedies}
    if len({remedy.id for remedy in remedies}) != len(remedies):
        raise InvalidInput("Choose each remedy once.")
    stored = []
    for remedy in remedies:
        if remedy.id not in known:
            raise InvalidInput("Choose remedies from the list.")
        if known[remedy.id].has_amount:
            if remedy.amount is None or not 0 < remedy.amount <= MAX_AMOUNT:
                raise InvalidInput(
                    f"Enter the amount in pounds for {known[remedy.id].label.lower()}."
                )
            stored.append({"id": remedy.id, "amount": remedy.amount})
        else:
            stored.append({"id": remedy.id})
    if not set(sought) <= set(known):
        raise InvalidInput("Choose what was sought from the list.")
    row = outcome_of(session, case)
    if row is None:
        row = Outcome(case_id=case.id, recorded_on=utcnow().date())
        session.add(row)
    row.result = result
    row.remedies = sorted(stored, key=lambda r: str(r["id"]))
    row.sought = sorted(set(sought))
    row.relationship_before = _scale(relationship_before, "relationship before")
    row.relationship_after = _scale(relationship_after, "relationship after")
    row.recorded_by_id = author.id
    row.recorded_on = utcnow().date()
    record(
        session,
        actor_for(author),
        "outcome.recorded",
        case_reference=case.reference,
        details={"result": result, "remedies": [r["id"] for r in stored]},
    )
    return row


@dataclass(frozen=True)
class SoughtAgainstAchieved:
    achieved: list[str]  # sought and obtained
    not_achieved: list[str]  # sought, not obtained
    also_obtained: list[str]  # obtained without being sought


def compare(outcome: Outcome) -> SoughtAgainstAchieved:
    got = {str(r["id"]) for r in outcome.remedies}
    wanted = set(outcome.sought)
    return SoughtAgainstAchieved(sorted(wanted & got), sorted(wanted - got), sorted(got - wanted))


def close_case(
    session: Session,
    officer: StaffUser,
    case: Case,
    *,
    reason: str = "",
    expected_state: str | None = None,
) -> None:
    """Close with the recorded outcome's result; the funding checks are scheduled."""
    outcome = outcome_of(session, case)
    if outcome is None:
        raise ActionRefused(GUARDS["outcome_recorded"])
    fields = {"result": outcome.result, "reason": reason.strip()}
    perform(
        session,
        case,
        "close",
        actor_for(officer),
        role=CASE_OFFICER,
        fields=fields,
        expected_state=expected_state,
    )


def answer_survey(
    session: Session,
    case: Case,
    party: str,
    *,
    satisfaction: int,
    fairness: int,
    relationship: int,
    would_use_again: bool,
    actor: Actor,
) -> SatisfactionResponse:
    """One party's short survey, once the case is closed; numbers only. Caller commits."""
    if party not in PARTIES:
        raise InvalidInput("Unknown party.")
    if case.state not in {"closed", "closure_contested"}:
        raise InvalidInput("The survey opens when the case is closed.")
    exists = session.execute(
        select(SatisfactionResponse.id).where(
            SatisfactionResponse.case_id == case.id, SatisfactionResponse.party == party
        )
    ).first()
    if exists is not None:
        raise InvalidInput("The survey for this case has already been answered. Thank you.")
    row = SatisfactionResponse(
        case_id=case.id,
        party=party,
        satisfaction=_scale(satisfaction, "service") or 0,
        fairness=_scale(fairness, "fairness") or 0,
        relationship=_scale(relationship, "relationship") or 0,
        would_use_again=bool(would_use_again),
        answered_on=utcnow().date(),
    )
    session.add(row)
    record(
        session, actor, "survey.answered", case_reference=case.reference, details={"party": party}
    )
    return row


def satisfaction(session: Session, case: Case) -> dict[str, SatisfactionResponse]:
    return {
        r.party: r
        for r in session.execute(
            select(SatisfactionResponse).where(SatisfactionResponse.case_id == case.id)
        ).scalars()
    }


def funding_checks(session: Session, case: Case) -> list[FundingCheck]:
    return list(
        session.execute(
            select(FundingCheck)
            .where(FundingCheck.case_id == case.id)
            .order_by(FundingCheck.due_on)
        ).scalars()
    )


def record_funding_check(
    session: Session,
    officer: StaffUser,
    case: Case,
    check_id: int,
    finding: str,
    today: date | None = None,
) -> FundingCheck:
    """The result of a retaliation check; funding reduced or ended marks the case urgent."""
    if officer.role != CASE_OFFICER:
        raise NotAllowed("Only a case officer records funding checks.")
    row = session.get(FundingCheck, check_id)
    if row is None or row.case_id != case.id:
        raise NotFound("There is no such funding check on this case.")
    if row.status != "scheduled":
        raise InvalidInput("This check has already been recorded.")
    if finding not in FINDINGS:
        raise InvalidInput("Choose what the check found.")
    today = today or utcnow().date()
    if row.due_on > today:
        raise InvalidInput(f"This check is not due until {row.due_on:%-d %B %Y}.")
    row.status = "done"
    row.finding = finding
    row.adverse = finding in ADVERSE_FINDINGS
    row.checked_on = today
    row.checked_by_id = officer.id
    if row.adverse:
        case.urgent = True
    record(
        session,
        actor_for(officer),
        "funding_check.recorded",
        case_reference=case.reference,
        details={"months": row.months, "finding": finding},
    )
    return row


def clear_urgent(session: Session, officer: StaffUser, case: Case, reason: str) -> None:
    """A case officer has dealt with an urgent report (adverse treatment, lost funding)."""
    if officer.role != CASE_OFFICER:
        raise NotAllowed("Only a case officer can do that.")
    if not case.urgent:
        raise InvalidInput("This case is not marked urgent.")
    if len(reason.strip()) < 5:
        raise InvalidInput("Say what was done about it.")
    case.urgent = False
    record(
        session,
        actor_for(officer),
        "case.urgent_cleared",
        case_reference=case.reference,
        # What was done about an adverse-treatment report names people: sealed to the case.
        reason=sealed_reasons.seal_reason(case, reason),
    )


def complainant_survey(
    session: Session,
    case: Case,
    *,
    satisfaction: int,
    fairness: int,
    relationship: int,
    would_use_again: bool,
) -> SatisfactionResponse:
    """The complainant's survey, from their signed-in session (numbers only)."""
    return answer_survey(
        session,
        case,
        "complainant",
        satisfaction=satisfaction,
        fairness=fairness,
        relationship=relationship,
        would_use_again=would_use_again,
        actor=Actor.complainant(),
    )


def survey_answered(session: Session, case: Case, party: str) -> bool:
    return party in satisfaction(session, case)
