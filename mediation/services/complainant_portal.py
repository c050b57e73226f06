"""What a signed-in complainant sees and does: timeline, dates, messages, documents, actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediation.domain import workflow
from mediation.domain.calendar import add_working_days
from mediation.domain.document_cleaning import CleaningNote
from mediation.domain.taxonomy import load_taxonomy
from mediation.domain.visible_text import visible
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case, CaseDocument, CaseEvent, CaseMessage
from mediation.models.intake import CaseBreach
from mediation.services import complaints, disclosure_statements, identity_access, staff_names
from mediation.services import workflow as workflow_service
from mediation.services.audit import Actor, record
from mediation.services.case_keys import field_context, lock_case
from mediation.services.errors import InvalidInput, NotFound
from mediation.services.intake import attach_document
from mediation.services.intake_documents import prepare_upload
from mediation.services.intake_rules import DocumentRefused, Upload, megabytes
from mediation.vault import KeyPair, open_sealed

COMPLAINANT = workflow.COMPLAINANT
# Documents the complainant can open in the portal: their own and the service's. Not the
# public body's: it sends them to the service (papers may be for the mediator only), and
# staff decide what to pass on.
SHARED_UPLOADERS = frozenset({"complainant", "case_officer", "mediator"})
# Decisions on whether we take a case on: the triage clock stops at the first of these.
TRIAGE_DECISIONS = frozenset({"decline", "start_informal", "offer_mediation", "refer"})
ADVERSE_KINDS = {
    "funding_cut": "Our funding was cut or ended",
    "funding_threatened": "Our funding was threatened",
    "funding_delayed": "A payment or decision was delayed",
    "other": "Something else",
}
# The complainant's words for each step of the workflow (staff wording is terser).
EVENT_WORDING = {
    "acknowledge": "We acknowledged your complaint",
    "start_triage": "A case officer started assessing your complaint",
    "decline": "We decided we cannot take your complaint on",
    "start_informal": "We started trying to resolve it informally with the public body",
    "offer_mediation": "We offered mediation",
    "appoint_mediator": "A mediator was appointed",
    "begin_mediation": "Mediation began",
    "record_agreement": "An agreement was reached",
    "record_no_agreement": "Mediation ended without an agreement",
    "resolve_informally": "It was resolved informally",
    "check_implementation": "We started checking the agreement is kept",
    "refer": "We referred your complaint elsewhere",
    "close": "Your case was closed",
    "put_on_hold": "Your case was put on hold",
    "resume": "Your case was taken off hold",
    "withdraw": "You withdrew your complaint",
    "contest_closure": "You contested the closure",
    "uphold_closure": "We reviewed the closure and kept the case closed",
    "reopen": "We reopened your case",
    "report_adverse_treatment": "You reported being treated badly since complaining",
}


@dataclass(frozen=True)
class TimelineEntry:
    on: date
    text: str


@dataclass(frozen=True)
class ServiceDate:
    """One of the service's promises: what, by when, and whether it was kept."""

    promise: str
    due: date
    done_on: date | None
    paused: bool = False


@dataclass(frozen=True)
class Message:
    on: date
    author: str
    mine: bool
    text: str


@dataclass(frozen=True)
class DocumentEntry:
    id: int
    name: str
    uploaded_on: date
    by: str
    # What was removed from the file before it was sealed (None: a file added before
    # documents were cleaned, or the service's own).
    cleaning: CleaningNote | None = None


@dataclass(frozen=True)
class Portal:
    """Everything on the complainant's home page."""

    case: Case
    state_label: str
    timeline: list[TimelineEntry]
    service_dates: list[ServiceDate]
    messages: list[Message]
    documents: list[DocumentEntry]
    disclosures: list[identity_access.Disclosure]
    breaches: list[str]
    body_name: str | None
    actions: frozenset[str]
    # The statement for the public body: "awaiting" the complainant's answer, "approved"
    # (and nothing newer waiting), or "none" yet.
    statement: str = "none"


def _events(session: Session, case: Case) -> list[CaseEvent]:
    return list(
        session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        ).scalars()
    )


def timeline(case: Case, events: list[CaseEvent]) -> list[TimelineEntry]:
    entries = [TimelineEntry(case.submitted_on, "You sent your complaint")]
    for event in events:
        text = EVENT_WORDING.get(event.action)
        if text is None:
            text = f"Your case moved to: {workflow.STATES.get(event.to_state, event.to_state)}"
        entries.append(TimelineEntry(event.occurred_on, text))
    return entries


def service_dates(case: Case, events: list[CaseEvent]) -> list[ServiceDate]:
    """The service standards for this case, in working days with bank holidays."""
    standards = load_taxonomy().service_standards
    paused = case.state == "on_hold"
    finished = case.state in {"closed", "withdrawn"}
    acknowledged = next((e.occurred_on for e in events if e.action == "acknowledge"), None)
    acknowledge_by = add_working_days(case.submitted_on, standards.acknowledge_working_days)
    if case.openness == "anonymous":
        calendar_limit = case.submitted_on + relativedelta(
            days=standards.anonymous_acknowledge_calendar_days
        )
        acknowledge_by = min(acknowledge_by, calendar_limit)
    decided = next((e.occurred_on for e in events if e.action in TRIAGE_DECISIONS), None)
    decide_by = add_working_days(acknowledged or acknowledge_by, standards.triage_working_days)
    dates = [
        ServiceDate("We acknowledge your complaint", acknowledge_by, acknowledged, paused),
        ServiceDate("We decide whether we can take it on", decide_by, decided, paused),
    ]
    if not finished:
        months = standards.feedback_to_complainant_months
        last_update = max(
            [case.submitted_on] + [e.occurred_on for e in events if e.actor_role != COMPLAINANT],
        )
        dates.append(
            ServiceDate(
                "You hear from us about progress",
                last_update + relativedelta(months=months),
                None,
                paused,
            )
        )
    return dates


def messages(session: Session, case: Case, case_key: KeyPair) -> list[Message]:
    """The conversation with the complainant: what they wrote, and what was meant for them."""
    opened = complaints.read_messages(session, case, case_key)
    names = staff_names.names(session, (m.author_id for m, _ in opened), with_role=True)
    shown = []
    for message, text in opened:
        mine = message.author_kind == "complainant"
        if not mine and message.audience != "complainant":
            continue
        author = "You" if mine else names.get(message.author_id or -1, "The mediation service")
        shown.append(Message(message.sent_on, author, mine, text))
    return shown


def documents(session: Session, case: Case, case_key: KeyPair) -> list[DocumentEntry]:
    rows = session.execute(
        select(CaseDocument)
        .where(CaseDocument.case_id == case.id, CaseDocument.uploaded_by.in_(SHARED_UPLOADERS))
        .order_by(CaseDocument.id)
    ).scalars()
    entries = []
    for doc in rows:
        if doc.name is None:
            continue
        name = open_sealed(doc.name, case_key, field_context(case, f"document:{doc.id}:name"))
        by = "You" if doc.uploaded_by == "complainant" else "The mediation service"
        cleaning = None
        if doc.cleaning is not None:
            note = open_sealed(
                doc.cleaning, case_key, field_context(case, f"document:{doc.id}:cleaning")
            )
            cleaning = CleaningNote.from_json(note.decode("utf-8"))
        entries.append(DocumentEntry(doc.id, name.decode("utf-8"), doc.uploaded_on, by, cleaning))
    return entries


def read_document(
    session: Session, case: Case, case_key: KeyPair, document_id: int
) -> tuple[str, bytes]:
    """A document's name and contents, for the complainant to download."""
    doc = session.get(CaseDocument, document_id)
    if (
        doc is None
        or doc.case_id != case.id
        or doc.uploaded_by not in SHARED_UPLOADERS
        or doc.name is None
        or doc.content is None
    ):
        raise NotFound("There is no such document on your case.")
    name = open_sealed(doc.name, case_key, field_context(case, f"document:{doc.id}:name"))
    content = open_sealed(doc.content, case_key, field_context(case, f"document:{doc.id}:content"))
    return name.decode("utf-8"), content


def available_actions(case: Case) -> frozenset[str]:
    return frozenset(t.action for t in workflow.available_actions(case.state, COMPLAINANT))


def portal(session: Session, case: Case, complainant_key: KeyPair) -> Portal:
    """Open the case with the complainant's key and gather the home page."""
    case_key = complaints.complainant_case_key(case, complainant_key)
    events = _events(session, case)
    taxonomy = load_taxonomy()
    breaches = [
        taxonomy.category(b.category).label
        for b in session.execute(
            select(CaseBreach).where(CaseBreach.case_id == case.id).order_by(CaseBreach.position)
        ).scalars()
    ]
    body = session.get(RespondentBody, case.respondent_body_id) if case.respondent_body_id else None
    return Portal(
        case=case,
        state_label=workflow.STATES.get(case.state, case.state),
        timeline=timeline(case, events),
        service_dates=service_dates(case, events),
        messages=messages(session, case, case_key),
        documents=documents(session, case, case_key),
        disclosures=identity_access.disclosure_log(session, case, case_key),
        breaches=breaches,
        body_name=body.name if body else None,
        actions=available_actions(case),
        statement=_statement_state(session, case),
    )


def _statement_state(session: Session, case: Case) -> str:
    statuses = {row.status for row in disclosure_statements.statements(session, case)}
    if "awaiting_approval" in statuses:
        return "awaiting"
    return "approved" if "approved" in statuses else "none"


def send_message(session: Session, case: Case, text: str) -> CaseMessage:
    """A message from the complainant to the service, sealed to the case key. Caller commits."""
    if len(text) > 20_000:
        raise InvalidInput("Your message must be 20,000 characters or fewer.")
    return complaints.add_message(session, case, Actor.complainant(), text, audience="complainant")


@dataclass(frozen=True)
class CaseDocumentLimits:
    """What one file may be, and what the complainant may add to a case in all."""

    per_file: int
    documents: int
    total_bytes: int


def add_document(
    session: Session,
    case: Case,
    raw_name: str,
    content: bytes,
    *,
    limits: CaseDocumentLimits,
    keep_as_sent: bool = False,
) -> Upload:
    """Seal a further document to the case, within the limits, once the details it carries
    are removed (a file that cannot be cleaned is kept as sent only with `keep_as_sent`).
    Returns what was sealed, with what was removed. Caller commits (or rolls back every
    file of the upload, when one is refused)."""
    upload = prepare_upload(raw_name, content, max_bytes=limits.per_file, keep_as_sent=keep_as_sent)
    add_upload(session, case, upload, limits=limits)
    return upload


def add_upload(session: Session, case: Case, upload: Upload, *, limits: CaseDocumentLimits) -> None:
    """Seal a document already checked and cleaned (as the API's parsing does) to the case,
    within the case's limits. Caller commits."""
    name, content = upload.name, upload.content
    # Counted under the case's lock: two uploads at once must not both fit the last place.
    case = lock_case(session, case)
    count, stored = session.execute(
        select(func.count(), func.coalesce(func.sum(func.length(CaseDocument.content)), 0)).where(
            CaseDocument.case_id == case.id, CaseDocument.uploaded_by == "complainant"
        )
    ).one()
    if count >= limits.documents:
        raise DocumentRefused(
            f"Your case already holds {count} documents from you, the most it can take. "
            "Send us a message if you need to add more."
        )
    if int(stored) + len(content) > limits.total_bytes:
        most = megabytes(limits.total_bytes)
        raise DocumentRefused(
            f"“{name}” would take the documents you have added past {most}, the most a "
            "case can hold. Send us a message if you need to add more."
        )
    attach_document(session, case, upload, uploaded_by="complainant")
    record(session, Actor.complainant(), "document.added", case_reference=case.reference)


def act(session: Session, case: Case, action: str, reason: str = "") -> None:
    """Withdraw, contest a closure or report adverse treatment, through the workflow."""
    fields: dict[str, Any] = {"reason": reason.strip()} if reason.strip() else {}
    workflow_service.perform(
        session, case, action, Actor.complainant(), role=COMPLAINANT, fields=fields
    )


def report_adverse_treatment(session: Session, case: Case, kind: str, details: str) -> None:
    """Flag the case urgent; the complainant's account goes sealed to the case officers."""
    if kind not in ADVERSE_KINDS:
        raise InvalidInput("Choose what happened.")
    if not visible(details):
        raise InvalidInput("Tell us what happened.")
    act(session, case, "report_adverse_treatment", f"{ADVERSE_KINDS[kind]}. {details.strip()}")
