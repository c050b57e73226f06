"""The public body's portal: invited staff see only their own body's cases, and only
through the approved disclosure statement; they reply, upload, propose and answer the
offer of mediation. Nothing else, ever: no narrative, no notes, no identity (unless the
complainant chose "open"), no time of day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from mediation.domain import clocks, paging, workflow
from mediation.domain.permissions import CASE_OFFICER, RESPONDENT
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case, CaseDocument
from mediation.models.casework import (
    AgreementToMediate,
    CaseClock,
    DisclosureStatement,
    MediationSession,
    RespondentMessage,
    SatisfactionResponse,
)
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services import accounts, case_access, disclosure_statements, mediation_work
from mediation.services.accounts import NewAccount, actor_for
from mediation.services.audit import record
from mediation.services.case_keys import case_sealing_key, field_context, lock_case
from mediation.services.errors import InvalidInput, NotAllowed
from mediation.services.intake_documents import check_document, clean_file_name
from mediation.services.workflow import perform
from mediation.vault import seal, seal_text

REPLY_LIMIT = 8000
# What the public body is told about where a case stands: plain, and nothing more.
RESPONDENT_STATE_LABELS = {
    "informal_resolution": "Looking for an informal resolution",
    "mediation_offered": "Mediation offered",
    "mediator_appointed": "Mediator being appointed",
    "in_mediation": "In mediation",
    "agreement": "Agreement reached",
    "no_agreement": "No agreement",
    "implementation_check": "Checking the agreement is kept",
    "respondent_declined": "You declined mediation",
    "closed": "Closed",
    "on_hold": "On hold",
    "referred": "Referred elsewhere",
    "withdrawn": "Withdrawn",
    "closure_contested": "Closure under review",
}


NOT_YET_INVITABLE = (
    "Staff of the public body can be invited only once the complainant has approved a "
    "disclosure statement: until then the body must not learn of the complaint. "
    "Nothing was changed."
)


def can_invite(session: Session, case: Case) -> bool:
    """Whether the case's public body may now be told of it: a confirmed body, records
    not destroyed, and a disclosure statement the complainant approved."""
    if case.keys_destroyed_on is not None or case.respondent_body_id is None:
        return False
    body = session.get(RespondentBody, case.respondent_body_id)
    if body is None or not body.confirmed:
        return False
    return disclosure_statements.approved(session, case) is not None


def invite(
    session: Session, officer: StaffUser, case: Case, *, email: str, name: str
) -> NewAccount:
    """An account for someone at the case's public body, with a single-use set-up link.
    Refused (nothing changed) until the complainant approves a disclosure statement: an
    invitation would tell the body that a complaint exists, and when. Caller commits, then
    emails the link (notifications.send_invitation)."""
    if officer.role != CASE_OFFICER:
        raise NotAllowed("Only a case officer can invite someone from a public body.")
    body = session.get(RespondentBody, case.respondent_body_id) if case.respondent_body_id else None
    if body is None or not body.confirmed:
        # Not on the list yet: a placeholder stands for every case of a body some
        # complainant named, so its staff would see cases against other bodies.
        raise InvalidInput("Confirm the public body at triage before inviting its staff.")
    if not can_invite(session, case):
        raise InvalidInput(NOT_YET_INVITABLE)
    return accounts.create_staff_user(
        session,
        actor_for(officer),
        email=email,
        name=name,
        role=RESPONDENT,
        respondent_body_id=case.respondent_body_id,
    )


def _check_user(user: StaffUser) -> None:
    if user.role != RESPONDENT or user.respondent_body_id is None:
        raise NotAllowed("Only staff of a public body use this portal.")


def state_label(state: str) -> str:
    return RESPONDENT_STATE_LABELS.get(state, "Open")


@dataclass(frozen=True)
class CaseSummary:
    """A line of the public body's case list: reference, where it stands, dates only."""

    reference: str
    state: str
    statement_approved_on: date | None
    reply_due_on: date | None
    needs_answer: bool


def _reply_due_on(
    case_id: ColumnElement[int] | InstrumentedAttribute[int] | int,
) -> ScalarSelect[date]:
    """The due date of the case's running reply clock (the latest, if ever more than one),
    as a scalar subquery: correlated to `Case.id` in a list, or bound to one case."""
    return (
        select(CaseClock.due_on)
        .where(
            CaseClock.case_id == case_id,
            CaseClock.kind == clocks.RESPONDENT_REPLY,
            CaseClock.met_on.is_(None),
            CaseClock.stopped_on.is_(None),
        )
        .order_by(CaseClock.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _reply_due(session: Session, case: Case) -> date | None:
    return session.execute(select(_reply_due_on(case.id))).scalar_one_or_none()


PAGE_SIZE = 50


@dataclass(frozen=True)
class CaseList(paging.Paged):
    """One page of a public body's cases: those awaiting its reply first (the soonest due
    first), then the rest, most recently shared first."""

    rows: list[CaseSummary]
    total: int
    page: int = 1
    page_size: int = PAGE_SIZE

    @property
    def counted(self) -> int:
        return self.total


def cases_for(
    session: Session, user: StaffUser, page: int = 1, page_size: int = PAGE_SIZE
) -> CaseList:
    """A page of the body's case list in one statement, its reply clocks and the number of
    cases included, read through the body's own cases (`ix_cases_respondent_body`). A page
    past the last (the list shrank since the link was made) shows the last, which takes a
    count and the statement again."""
    _check_user(user)
    listed = (
        select(
            Case.id,
            Case.reference,
            Case.state,
            DisclosureStatement.decided_on,
            _reply_due_on(Case.id).correlate(Case).label("due"),
        )
        .join(DisclosureStatement, DisclosureStatement.case_id == Case.id)
        .where(
            Case.respondent_body_id == user.respondent_body_id,
            Case.keys_destroyed_on.is_(None),
            DisclosureStatement.status == "approved",
        )
        .subquery()
    )
    page = max(1, page)
    while True:
        rows = session.execute(
            select(
                listed.c.reference,
                listed.c.state,
                listed.c.decided_on,
                listed.c.due,
                func.count().over().label("total"),
            )
            .order_by(
                listed.c.due.is_(None),
                listed.c.due,
                listed.c.decided_on.desc(),
                listed.c.id,
            )
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).all()
        if rows or page == 1:
            break
        # Past the end: no row to count from, so count, and show the last page.
        total = session.execute(select(func.count()).select_from(listed)).scalar_one()
        page = paging.page_count(total, page_size)
        if total == 0:
            break
    return CaseList(
        rows=[
            CaseSummary(
                reference=reference,
                state=state_label(state),
                statement_approved_on=approved_on,
                reply_due_on=due,
                needs_answer=due is not None,
            )
            for reference, state, approved_on, due, _ in rows
        ],
        total=rows[0].total if rows else 0,
        page=page,
        page_size=page_size,
    )


@dataclass(frozen=True)
class DocumentLine:
    uploaded_on: date
    size: int


@dataclass(frozen=True)
class RespondentView:
    """Everything the public body sees of one case: nothing outside this object."""

    reference: str
    state: str
    raw_state: str
    body_name: str
    statement: str
    statement_approved_on: date | None
    shared_identity: dict[str, Any] | None
    correspondence: list[RespondentMessage]
    sessions: list[MediationSession]
    documents: list[DocumentLine]
    reply_due_on: date | None
    actions: list[str]
    survey_answered: bool


def view(session: Session, user: StaffUser, reference: str) -> RespondentView:
    _check_user(user)
    case = case_access.respondent_case(session, user, reference)
    statement = session.execute(
        select(DisclosureStatement).where(
            DisclosureStatement.case_id == case.id, DisclosureStatement.status == "approved"
        )
    ).scalar_one()
    body = session.get(RespondentBody, case.respondent_body_id)
    facts = {"statement_approved": True, "respondent_not_answered": _not_answered(session, case)}
    actions = [
        t.action
        for t in workflow.available_actions(case.state, workflow.RESPONDENT)
        if all(facts.get(g, False) for g in t.guards)
    ]
    documents = [
        DocumentLine(d.uploaded_on, len(d.content or b""))
        for d in session.execute(
            select(CaseDocument)
            .where(CaseDocument.case_id == case.id, CaseDocument.uploaded_by == RESPONDENT)
            .order_by(CaseDocument.id)
        ).scalars()
    ]
    answered = session.execute(
        select(SatisfactionResponse.id).where(
            SatisfactionResponse.case_id == case.id, SatisfactionResponse.party == RESPONDENT
        )
    ).first()
    return RespondentView(
        reference=case.reference,
        state=state_label(case.state),
        raw_state=case.state,
        body_name=body.name if body else "",
        statement=statement.approved_text or "",
        statement_approved_on=statement.decided_on,
        shared_identity=dict(case.shared_identity)
        if case.openness == "open" and case.shared_identity
        else None,
        correspondence=[
            m
            for m in mediation_work.respondent_thread(session, case)
            if m.audience in {"respondent", "both", "service"}
        ],
        sessions=[m for m in mediation_work.sessions(session, case) if not m.cancelled],
        documents=documents,
        reply_due_on=_reply_due(session, case),
        actions=actions,
        survey_answered=answered is not None,
    )


def _not_answered(session: Session, case: Case) -> bool:
    answer = session.execute(
        select(AgreementToMediate.respondent_answer).where(AgreementToMediate.case_id == case.id)
    ).scalar_one_or_none()
    return answer is None


def _respondent_text(
    session: Session, user: StaffUser, case: Case, kind: str, text: str
) -> RespondentMessage:
    body = text.strip()
    if len(body) > REPLY_LIMIT:
        raise InvalidInput(f"Keep it under {REPLY_LIMIT} characters.")
    message = RespondentMessage(
        case_id=case.id,
        kind=kind,
        audience="service",
        author_kind=RESPONDENT,
        author_id=user.id,
        sent_on=utcnow().date(),
        body=body,
    )
    session.add(message)
    return message


def reply(session: Session, user: StaffUser, reference: str, text: str) -> RespondentMessage:
    """The body's reply to the complaint (or a later message). Caller commits."""
    _check_user(user)
    case = case_access.respondent_case(session, user, reference)
    perform(
        session, case, "respondent_reply", actor_for(user), role=RESPONDENT, fields={"reply": text}
    )
    return _respondent_text(session, user, case, "reply", text)


def propose_resolution(
    session: Session, user: StaffUser, reference: str, text: str
) -> RespondentMessage:
    _check_user(user)
    case = case_access.respondent_case(session, user, reference)
    perform(
        session,
        case,
        "propose_resolution",
        actor_for(user),
        role=RESPONDENT,
        fields={"proposal": text},
    )
    return _respondent_text(session, user, case, "proposal", text)


def answer_mediation(
    session: Session, user: StaffUser, reference: str, *, agree: bool, reason: str = ""
) -> None:
    """Agree to mediation, or decline it with a reason. Caller commits."""
    _check_user(user)
    case = case_access.respondent_case(session, user, reference)
    action = "respondent_accept" if agree else "respondent_decline"
    fields = {} if agree else {"reason": reason}
    perform(session, case, action, actor_for(user), role=RESPONDENT, fields=fields)
    terms = mediation_work.terms(session, case)
    terms.respondent_answer = "agreed" if agree else "declined"
    terms.respondent_answered_on = utcnow().date()


def upload_document(
    session: Session,
    user: StaffUser,
    reference: str,
    name: str,
    content: bytes,
    *,
    notify: bool = True,
) -> CaseDocument:
    """A document for the service, sealed to the case key: staff can read it, and the
    body keeps its own copy (it cannot read it back from here)."""
    _check_user(user)
    case = case_access.respondent_case(session, user, reference)
    if workflow.RESPONDENT_ACTIVE.isdisjoint({case.state}):
        raise InvalidInput("Documents can be sent only while the case is open.")
    if not name.strip() and not content:
        raise InvalidInput("Choose a file to upload.")
    # The types, sizes and names the complainant's documents are held to: a name without
    # bidi overrides or a path, and a type a case officer can open safely.
    cleaned = clean_file_name(name)
    check_document(cleaned, len(content), max_bytes=int(current_app.config["MAX_DOCUMENT_BYTES"]))
    # The case's limits, as for the complainant's documents, counted under the case's lock
    # (under which the case is still open: a withdrawal may have come in meanwhile).
    case = lock_case(session, case)
    if workflow.RESPONDENT_ACTIVE.isdisjoint({case.state}):
        raise InvalidInput("Documents can be sent only while the case is open.")
    count, stored = session.execute(
        select(func.count(), func.coalesce(func.sum(func.length(CaseDocument.content)), 0)).where(
            CaseDocument.case_id == case.id, CaseDocument.uploaded_by == RESPONDENT
        )
    ).one()
    if count >= int(current_app.config["MAX_CASE_DOCUMENTS"]):
        raise InvalidInput(
            f"This case holds {count} documents from your organisation already, the most it "
            "can take. Send the service a reply instead, saying what else you have."
        )
    if int(stored) + len(content) > int(current_app.config["MAX_CASE_DOCUMENT_BYTES"]):
        raise InvalidInput(
            "This document would take your organisation's documents on this case past the "
            "most a case can hold. Send the service a reply instead, saying what else you have."
        )
    public = case_sealing_key(session, case)
    document = CaseDocument(case_id=case.id, uploaded_by=RESPONDENT, uploaded_on=utcnow().date())
    session.add(document)
    session.flush()
    document.name = seal_text(cleaned, public, field_context(case, f"document:{document.id}:name"))
    document.content = seal(content, public, field_context(case, f"document:{document.id}:content"))
    actor = actor_for(user)
    record(
        session,
        actor,
        "document.uploaded",
        case_reference=case.reference,
        details={"document_id": document.id, "by": RESPONDENT},
    )
    if notify:  # once for documents sent together (`notify` on the last)
        from mediation.services import notifications

        notifications.notify(session, case, "case_officers", "respondent_answer", actor=actor)
        notifications.notify(session, case, "mediator", "respondent_answer", actor=actor)
    return document


def answer_survey(
    session: Session,
    user: StaffUser,
    reference: str,
    *,
    satisfaction: int,
    fairness: int,
    relationship: int,
    would_use_again: bool,
) -> None:
    """The public body's short survey once the case is closed. Caller commits."""
    from mediation.services import outcomes

    _check_user(user)
    case = case_access.respondent_case(session, user, reference)
    outcomes.answer_survey(
        session,
        case,
        RESPONDENT,
        satisfaction=satisfaction,
        fairness=fairness,
        relationship=relationship,
        would_use_again=would_use_again,
        actor=actor_for(user),
    )
