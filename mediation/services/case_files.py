"""Everything a case officer's or mediator's case page shows, gathered in one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.domain import clocks, workflow
from mediation.domain.document_cleaning import CleaningNote
from mediation.domain.permissions import CASE_OFFICER, MEDIATOR
from mediation.models.bodies import RespondentBody
from mediation.models.cases import (
    DONE_STATES,
    Case,
    CaseDocument,
    CaseEvent,
    CaseMessage,
    IdentityRequest,
)
from mediation.models.casework import (
    AgreementToMediate,
    CaseNote,
    DisclosureStatement,
    FundingCheck,
    MediatorOffer,
    Outcome,
    RespondentMessage,
    SatisfactionResponse,
    TriageRecord,
)
from mediation.models.intake import CaseBreach
from mediation.models.staff import StaffUser
from mediation.services import (
    case_access,
    case_clocks,
    complaints,
    disclosure_statements,
    intake_bodies,
    intake_rules,
    mediation_work,
    outcomes,
    routing,
    sealed_reasons,
    staff_names,
    triage,
)
from mediation.services.accounts import actor_for
from mediation.services.audit import record
from mediation.services.case_keys import field_context
from mediation.services.errors import NotFound
from mediation.services.workflow import facts_of
from mediation.vault import KeyPair, open_sealed, open_text


@dataclass
class StatementView:
    working: DisclosureStatement | None
    working_text: str
    change_request: str
    approved: DisclosureStatement | None


@dataclass
class CaseFile:
    """A case as its staff see it; the sealed parts already opened with the viewer's key."""

    case: Case
    viewer_role: str
    body: RespondentBody | None
    narrative: str
    # The narrative's answers, labelled, when it came from the intake form (None: plain text).
    answers: list[tuple[str, str]] | None
    claimed_categories: list[str]
    triage: TriageRecord | None
    links: list[tuple[str, Case]]
    clock_statuses: list[clocks.ClockStatus]
    statement: StatementView
    complainant_messages: list[tuple[CaseMessage, str]]
    respondent_messages: list[RespondentMessage]
    notes: list[tuple[CaseNote, str]]
    events: list[CaseEvent]
    offers: list[MediatorOffer]
    mediator: StaffUser | None
    sessions: list[mediation_work.PapersStatus]
    terms: AgreementToMediate | None
    outcome: Outcome | None
    sought_against_achieved: outcomes.SoughtAgainstAchieved | None
    surveys: dict[str, SatisfactionResponse]
    funding_checks: list[FundingCheck]
    documents: list[tuple[CaseDocument, str, str]]  # with what was removed from each
    identity_requests: list[IdentityRequest]
    actions: list[workflow.Transition]
    staff_names: dict[int, str] = field(default_factory=dict)
    # The body's name as the complainant typed it, while the case waits against a
    # placeholder (it is kept only in the sealed narrative).
    named_body: str | None = None
    # Reasons given on the case (sealed to the case key), opened: all of them for a case
    # officer, a mediator's own for a mediator.
    reasons: list[sealed_reasons.GivenReason] = field(default_factory=list)

    @property
    def state_label(self) -> str:
        return workflow.state_label(self.case.state)


def _documents(session: Session, case: Case, key: KeyPair) -> list[tuple[CaseDocument, str, str]]:
    """Each document with its name and what was removed from it (or that it was kept as
    the complainant sent it), opened."""
    rows = session.execute(
        select(CaseDocument).where(CaseDocument.case_id == case.id).order_by(CaseDocument.id)
    ).scalars()
    out = []
    for doc in rows:
        name = note = ""
        if doc.name is not None:
            name = open_text(doc.name, key, field_context(case, f"document:{doc.id}:name"))
        if doc.cleaning is not None:
            cleaning = open_text(
                doc.cleaning, key, field_context(case, f"document:{doc.id}:cleaning")
            )
            note = CleaningNote.from_json(cleaning).summary
        out.append((doc, name, note))
    return out


def _gather(session: Session, viewer: StaffUser, case: Case, key: KeyPair) -> CaseFile:
    # Each record read once: what the page shows is also what the workflow's guards need.
    versions = disclosure_statements.statements(session, case)
    working = disclosure_statements.working_of(versions)
    approved = disclosure_statements.approved_of(versions)
    outcome = outcomes.outcome_of(session, case)
    offers = list(
        session.execute(
            select(MediatorOffer).where(MediatorOffer.case_id == case.id).order_by(MediatorOffer.id)
        ).scalars()
    )
    terms = session.execute(
        select(AgreementToMediate).where(AgreementToMediate.case_id == case.id)
    ).scalar_one_or_none()
    known = facts_of(
        case,
        actor_for(viewer),
        offers=offers,
        terms=terms,
        statement_approved=approved is not None,
        outcome_recorded=outcome is not None,
    )
    body = session.get(RespondentBody, case.respondent_body_id) if case.respondent_body_id else None
    narrative = complaints.read_narrative(case, key)
    actions = [
        t
        for t in workflow.available_actions(case.state, viewer.role)
        if all(known.get(g, False) for g in t.guards)
    ]
    return CaseFile(
        case=case,
        viewer_role=viewer.role,
        body=body,
        narrative=narrative,
        answers=intake_rules.narrative_answers(narrative),
        claimed_categories=sorted(
            {
                b.category
                for b in session.execute(
                    select(CaseBreach).where(CaseBreach.case_id == case.id)
                ).scalars()
            }
        ),
        triage=triage.triage_record(session, case),
        links=triage.links(session, case),
        clock_statuses=case_clocks.statuses(case, case_clocks.clock_rows(session, case)),
        statement=StatementView(
            working=working,
            working_text=disclosure_statements.read_draft(case, working, key) if working else "",
            change_request=disclosure_statements.read_change_request(case, working, key)
            if working
            else "",
            approved=approved,
        ),
        complainant_messages=mediation_work.complainant_thread(session, viewer, case, key),
        respondent_messages=mediation_work.respondent_thread(session, case),
        notes=mediation_work.read_notes(session, case, key),
        reasons=sealed_reasons.history(
            session, case, key, only_by=None if viewer.role == CASE_OFFICER else viewer.id
        ),
        events=list(
            session.execute(
                select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
            ).scalars()
        ),
        offers=offers,
        mediator=session.get(StaffUser, case.mediator_id) if case.mediator_id else None,
        sessions=mediation_work.papers_status(
            mediation_work.sessions(session, case), case_clocks.today()
        ),
        terms=terms,
        outcome=outcome,
        sought_against_achieved=outcomes.compare(outcome) if outcome else None,
        surveys=outcomes.satisfaction(session, case),
        funding_checks=outcomes.funding_checks(session, case),
        documents=_documents(session, case, key),
        identity_requests=list(
            session.execute(
                select(IdentityRequest)
                .where(IdentityRequest.case_id == case.id)
                .order_by(IdentityRequest.id)
            ).scalars()
        ),
        actions=actions,
        staff_names=staff_names.everyone(session),
        named_body=intake_bodies.named_body_in(narrative)
        if intake_bodies.is_placeholder(body)
        else None,
    )


def officer_file(session: Session, officer: StaffUser, key: KeyPair, reference: str) -> CaseFile:
    case, case_key = case_access.officer_case(session, officer, key, reference)
    return _gather(session, officer, case, case_key)


def mediator_file(session: Session, mediator: StaffUser, key: KeyPair, reference: str) -> CaseFile:
    case, case_key = case_access.mediator_case(session, mediator, key, reference)
    return _gather(session, mediator, case, case_key)


@dataclass(frozen=True)
class OfferView:
    """What a mediator sees before the case is theirs: no narrative, no names until they
    accept; then the public body's name (and the complainant's, if the case is open)."""

    case: Case
    offer: MediatorOffer
    summary: str
    categories: list[str]
    body_type: str | None
    region: str | None
    body_name: str | None
    shared_identity: dict[str, str] | None
    submitted_on: date


def mediator_offer(
    session: Session, mediator: StaffUser, key: KeyPair, reference: str
) -> OfferView:
    if mediator.role != MEDIATOR:
        raise case_access.CaseNotFound()
    case = case_access.find(session, reference)
    offer = routing.live_offer(session, case, mediator.id)
    if offer is None or offer.status not in routing.LIVE_OFFERS:
        raise case_access.CaseNotFound()
    body = session.get(RespondentBody, case.respondent_body_id) if case.respondent_body_id else None
    names_known = offer.status == "accepted"
    record = triage.triage_record(session, case)
    return OfferView(
        case=case,
        offer=offer,
        summary=routing.read_summary(case, offer, key),
        categories=list(record.categories) if record else [],
        body_type=body.body_type if body else None,
        region=body.region if body else None,
        body_name=body.name if body and names_known else None,
        shared_identity=dict(case.shared_identity)
        if names_known and case.openness == "open" and case.shared_identity
        else None,
        submitted_on=case.submitted_on,
    )


def assert_case_officer(user: StaffUser) -> None:
    if user.role != CASE_OFFICER:
        raise NotFound()


def mediator_view(
    session: Session, mediator: StaffUser, key: KeyPair, reference: str
) -> CaseFile | OfferView:
    """The mediator's page for a case: the workspace once it is theirs, else the offer."""
    try:
        return mediator_file(session, mediator, key, reference)
    except case_access.CaseNotFound:
        return mediator_offer(session, mediator, key, reference)


@dataclass(frozen=True)
class AssignedCase:
    """A line of a mediator's case list: the case's plain columns, nothing sealed."""

    reference: str
    state: str
    submitted_on: date

    @property
    def closed(self) -> bool:
        return self.state in DONE_STATES


@dataclass(frozen=True)
class MediatorCases:
    offers: list[tuple[MediatorOffer, Case]]
    cases: list[AssignedCase]  # newest first

    @property
    def open_cases(self) -> list[AssignedCase]:
        return [c for c in self.cases if not c.closed]

    @property
    def closed_cases(self) -> list[AssignedCase]:
        return [c for c in self.cases if c.closed]


def mediator_cases(session: Session, mediator: StaffUser) -> MediatorCases:
    """The mediator's offers, and the cases assigned to them whose records are kept (read
    through `ix_cases_mediator`: three columns, never a case's sealed contents)."""
    if mediator.role != MEDIATOR:
        raise NotFound()
    rows = session.execute(
        select(Case.reference, Case.state, Case.submitted_on)
        .where(Case.mediator_id == mediator.id, Case.keys_destroyed_on.is_(None))
        .order_by(Case.submitted_on.desc(), Case.id.desc())
    )
    return MediatorCases(
        offers=routing.offers_for(session, mediator),
        cases=[AssignedCase(*row) for row in rows],
    )


@dataclass(frozen=True)
class OpenedDocument:
    name: str
    content: bytes


def open_document(
    session: Session, user: StaffUser, key: KeyPair, reference: str, document_id: int
) -> OpenedDocument:
    """A case document opened for a case officer or the case's mediator (audited)."""
    if user.role == CASE_OFFICER:
        case, case_key = case_access.officer_case(session, user, key, reference)
    else:
        case, case_key = case_access.mediator_case(session, user, key, reference)
    document = session.get(CaseDocument, document_id)
    if document is None or document.case_id != case.id or document.content is None:
        raise NotFound("There is no such document on this case.")
    name = ""
    if document.name is not None:
        name = open_text(
            document.name, case_key, field_context(case, f"document:{document.id}:name")
        )
    content = open_sealed(
        document.content, case_key, field_context(case, f"document:{document.id}:content")
    )
    record(
        session,
        actor_for(user),
        "document.opened",
        case_reference=case.reference,
        details={"document_id": document.id},
    )
    return OpenedDocument(name or f"document-{document.id}", content)
