"""Demonstration cases in every workflow state, so that every role's pages look real.

Each case is filed and moved through the same services the pages use, by the demo case
officer (whose key is unlocked with the documented demo password), the demo mediator and
the demo public-body user; then its dates are moved back so that the queue shows new,
due-soon, overdue and funding-check cases. Everyone and everything here is invented.
A complaint being written is an intake draft (sealed in the complainant's browser), so
there is no case in the "draft" state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, select
from sqlalchemy.orm import Session

from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case, CaseEvent, CaseMessage
from mediation.models.casework import (
    AgreementToMediate,
    CaseClock,
    CaseNote,
    DisclosureStatement,
    FundingCheck,
    MediationSession,
    MediatorOffer,
    Outcome,
    RespondentMessage,
    TriageRecord,
)
from mediation.models.panel import MediatorProfile
from mediation.models.staff import StaffUser
from mediation.services import (
    accounts,
    case_clocks,
    complaints,
    disclosure_statements,
    keyring,
    mediation_work,
    outcomes,
    respondents,
    routing,
    statistical_records,
    triage,
)
from mediation.services.audit import Actor
from mediation.services.demo import DEMO_ACCOUNTS, packaged_text
from mediation.services.intake_rules import BreachClaim, Complaint
from mediation.services.workflow import perform
from mediation.vault import KeyPair

BODY = "Marsh County Council"


@dataclass(frozen=True)
class DemoCase:
    state: str
    openness: str
    organisation: str
    narrative: str
    category: str
    age_days: int  # how long ago it was filed


def _demo_cases() -> tuple[DemoCase, ...]:
    data = json.loads(packaged_text("demo_cases.json"))
    return tuple(DemoCase(**item) for item in data["cases"])


CASES = _demo_cases()

# What each demo complainant asked for, by the Compact area of their complaint.
_OUTCOMES_SOUGHT = {
    "consultation": "A proper consultation, with twelve weeks to answer, before it is decided.",
    "funding_process": "Payment of what is owed, and a date we can rely on for future payments.",
    "funding_change": "Three months' notice and the reasons, as the Compact asks, before any cut.",
}


def _intake_narrative(demo: DemoCase) -> str:
    """The narrative as the intake form seals it, so a demo case reads like a real one."""
    return Complaint(
        openness=demo.openness,
        respondent_body_id=None,
        named_body=None,
        breaches=(BreachClaim(demo.category),),
        what_happened=demo.narrative,
        outcome_sought=_OUTCOMES_SOUGHT.get(
            demo.category, "An explanation, and the Compact kept from now on."
        ),
        when=f"About {max(1, demo.age_days // 7 + 2)} weeks before we complained",
        raised_with_body=demo.state != "not_accepted",
        steps_taken="We wrote to the grants team twice and had no reply that dealt with it.",
        impact="Fewer sessions for the people who rely on us while this goes on.",
    ).narrative()


@dataclass
class Cast:
    officer: StaffUser
    officer_key: KeyPair
    mediator: StaffUser
    respondent: StaffUser
    body: RespondentBody


def _cast(session: Session) -> Cast | None:
    emails = {a.role: a for a in DEMO_ACCOUNTS}
    officer = accounts.find_by_email(session, emails["case_officer"].email)
    mediator = accounts.find_by_email(session, emails["mediator"].email)
    respondent = accounts.find_by_email(session, emails["respondent"].email)
    body = session.execute(
        select(RespondentBody).where(RespondentBody.name == BODY)
    ).scalar_one_or_none()
    if officer is None or mediator is None or respondent is None or body is None:
        return None
    key = keyring.unlock(session, officer, emails["case_officer"].password)
    if key is None:
        return None
    profile = session.execute(
        select(MediatorProfile).where(MediatorProfile.user_id == mediator.id)
    ).scalar_one_or_none()
    if profile is None:
        # The demo mediator joins the panel, able to take any demo case.
        session.add(
            MediatorProfile(
                user_id=mediator.id,
                specialisms=[c.category for c in CASES],
                regions=["north_west", "national"],
                languages=["en", "yo"],
                capacity=12,
                accreditation_body="Institute of Community Mediators",
                accredited_on=date(2016, 3, 1),
                # Three months ago, whenever the demo is loaded: CPD counts for a year.
                cpd_last_date=case_clocks.today() - timedelta(days=91),
                cpd_hours=14,
                leave=[],
                interests=[],
            )
        )
        session.flush()
    return Cast(officer, key, mediator, respondent, body)


class Walker:
    """Moves one demo case through the workflow with the demo people."""

    def __init__(self, session: Session, cast: Cast, filed: complaints.Filed, demo: DemoCase):
        self.session, self.c, self.filed, self.demo = session, cast, filed, demo
        self.case = filed.case

    def officer(self, action: str, **fields: str) -> None:
        perform(
            self.session,
            self.case,
            action,
            accounts.actor_for(self.c.officer),
            role="case_officer",
            fields=fields,
        )

    def triaged(self) -> None:
        triage.record_triage(
            self.session,
            self.c.officer,
            self.case,
            categories=[self.demo.category],
            respondent_body_id=self.c.body.id,
            officer_key=self.c.officer_key,
        )

    def statement(self) -> None:
        text = (
            "A voluntary group funded by the council says a decision about its funding did "
            "not follow the Compact. It asks the council to review the decision and to talk "
            "with it, through mediation, about what happens next."
        )
        disclosure_statements.save_draft(self.session, self.c.officer, self.case, text)
        row = disclosure_statements.send_for_approval(self.session, self.c.officer, self.case)
        # The demo approves with the case key (any holder's); a real complainant uses theirs.
        key = complaints.staff_case_key(self.session, self.c.officer, self.c.officer_key, self.case)
        disclosure_statements.complainant_decides(
            self.session,
            self.case,
            key,
            row.id,
            approve=True,
            shown_digest=disclosure_statements.digest(text),
        )

    def mediator_confirmed(self) -> None:
        routing.propose(
            self.session,
            self.c.officer,
            self.c.officer_key,
            self.case,
            mediator_id=self.c.mediator.id,
            summary="A small group in the North West; a funding decision without the notice "
            "or reasons the Compact asks for; both sides willing to talk.",
        )
        routing.accept(self.session, self.c.mediator, self.case)
        routing.declare_no_conflict(self.session, self.c.mediator, self.case)

    def mediating(self) -> None:
        today = date.today()
        mediation_work.record_signatures(
            self.session,
            self.c.mediator,
            self.case,
            complainant_signed_on=today,
            respondent_signed_on=today,
        )
        mediation_work.act(self.session, self.c.mediator, self.case, "begin_mediation", {})
        mediation_work.schedule_session(
            self.session,
            self.c.mediator,
            self.case,
            held_on=today + timedelta(days=28),
            part_of_day="morning",
            online=False,
            place="Marsh Community Centre, Marshton",
        )
        mediation_work.add_note(
            self.session,
            self.c.mediator,
            self.case,
            "Both sides want the service to continue; the gap is the notice period.",
        )
        mediation_work.send_message(
            self.session,
            self.c.mediator,
            self.case,
            "both",
            "Thank you both for agreeing to mediate. Please send your papers by the date shown.",
        )

    def respondent(self, agree: bool) -> None:
        respondents.reply(
            self.session,
            self.c.respondent,
            self.case.reference,
            "We have received the statement and are gathering the decision papers.",
        )
        respondents.answer_mediation(
            self.session,
            self.c.respondent,
            self.case.reference,
            agree=agree,
            reason="" if agree else "We are restructuring the whole grants programme first.",
        )

    def outcome_and_close(self) -> None:
        outcomes.record_outcome(
            self.session,
            self.c.officer,
            self.case,
            result="mediated_agreement_full",
            remedies=[
                outcomes.RemedyInput("notice_extended"),
                outcomes.RemedyInput("payment", 3200),
            ],
            sought=["notice_extended", "payment", "funding_reinstated"],
            relationship_before=2,
            relationship_after=4,
        )
        outcomes.close_case(self.session, self.c.officer, self.case, reason="Agreement kept")

    def steps(self) -> list[Callable[[], object]]:
        ack: list[Callable[[], object]] = [lambda: self.officer("acknowledge")]
        tri = [*ack, lambda: self.officer("start_triage"), self.triaged]
        offered = [*tri, lambda: self.officer("offer_mediation"), self.statement]
        agreed_to = [*offered, lambda: self.respondent(True)]
        appointed = [*agreed_to, self.mediator_confirmed]
        mediating = [*appointed, self.mediating]
        agreement = [
            *mediating,
            lambda: mediation_work.act(
                self.session,
                self.c.mediator,
                self.case,
                "record_agreement",
                {"agreement": "full"},
            ),
        ]
        checking = [*agreement, lambda: self.officer("check_implementation")]
        closed = [*checking, self.outcome_and_close]
        paths: dict[str, list[Callable[[], object]]] = {
            "submitted": [],
            "acknowledged": ack,
            "triage": tri,
            "not_accepted": [
                *tri,
                lambda: self.officer(
                    "decline",
                    decline_reason="out_of_scope",
                    reason="A parish decision about an event is outside the Compact.",
                ),
            ],
            "informal_resolution": [
                *tri,
                lambda: self.officer("start_informal", reason="A call with the grants team first"),
                self.statement,
            ],
            "mediation_offered": offered,
            "mediator_appointed": [
                *agreed_to,
                lambda: routing.propose(
                    self.session,
                    self.c.officer,
                    self.c.officer_key,
                    self.case,
                    mediator_id=self.c.mediator.id,
                    summary="Transport funding for a disability forum cut without an "
                    "equality impact assessment; North West.",
                ),
            ],
            "in_mediation": mediating,
            "agreement": agreement,
            "no_agreement": [
                *mediating,
                lambda: mediation_work.act(
                    self.session,
                    self.c.mediator,
                    self.case,
                    "record_no_agreement",
                    {"reason": "The council will not reopen the budget this year."},
                ),
            ],
            "implementation_check": checking,
            "closed": closed,
            "on_hold": [*tri, lambda: self.officer("put_on_hold", reason="A judicial review")],
            "referred": [
                *tri,
                lambda: self.officer("refer", referred_to="local_government_ombudsman"),
            ],
            "withdrawn": [
                *ack,
                lambda: perform(
                    self.session, self.case, "withdraw", Actor.complainant(), role="complainant"
                ),
            ],
            "respondent_declined": [*offered, lambda: self.respondent(False)],
            "closure_contested": [
                *closed,
                lambda: perform(
                    self.session,
                    self.case,
                    "contest_closure",
                    Actor.complainant(),
                    role="complainant",
                    fields={"reason": "The council has not paid what it agreed."},
                ),
            ],
        }
        return paths[self.demo.state]


# Every table whose dates belong to one case (and so move back with it).
AGED = (
    CaseEvent,
    CaseMessage,
    CaseClock,
    TriageRecord,
    MediatorOffer,
    AgreementToMediate,
    CaseNote,
    DisclosureStatement,
    RespondentMessage,
    Outcome,
    FundingCheck,
)


def _age(session: Session, ages: dict[int, int]) -> None:
    """Move every date of each case back, as if it had been filed `ages[case id]` days ago:
    one query per table for all the demo cases."""
    for case in session.execute(select(Case).where(Case.id.in_(ages))).scalars():
        shift = timedelta(days=ages[case.id])
        case.submitted_on -= shift
        if case.closed_on:
            case.closed_on -= shift
    for model in AGED:
        columns = [c.key for c in model.__table__.columns if isinstance(c.type, Date)]
        rows: Any = session.execute(select(model).where(model.case_id.in_(ages))).scalars()
        for row in rows:
            shift = timedelta(days=ages[row.case_id])
            for name in columns:
                value: Any = getattr(row, name)
                if value is not None:
                    setattr(row, name, value - shift)


def load(session: Session) -> str:
    """Load demo cases; returns a short summary for the CLI."""
    if session.execute(select(TriageRecord.id).limit(1)).first() is not None:
        return "demo cases already loaded"
    cast = _cast(session)
    if cast is None:
        return "no demo cases (load the demo accounts first)"
    ages: dict[int, int] = {}
    for demo in CASES:
        identity = None
        if demo.openness != "anonymous":
            identity = {
                "organisation": demo.organisation,
                "contact_name": "Demo Contact",
                "email": f"contact@{demo.organisation.lower().replace(' ', '-')[:30]}.example.org",
                "region": "north_west",
                "size_band": "small",
            }
        filed = complaints.file_complaint(
            session,
            openness=demo.openness,
            narrative=_intake_narrative(demo),
            identity=identity,
            respondent_body_id=cast.body.id,
        )
        statistical_records.record_at_intake(
            session,
            filed.case,
            categories=[demo.category],
            body_type=cast.body.body_type,
            region="north_west",
            size_band="small",
        )
        for step in Walker(session, cast, filed, demo).steps():
            step()
        ages[filed.case.id] = demo.age_days
    # Sessions stay in the future; everything else moves back.
    _age(session, ages)
    for meeting in session.execute(select(MediationSession)).scalars():
        meeting.complainant_papers_on = date.today()
    return f"{len(CASES)} demo cases, one in each workflow state"
