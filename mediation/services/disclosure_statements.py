"""The disclosure statement: what the public body is told, in words the complainant approved.

A draft is sealed to the case key, so only the case's key holders (case officers, the
mediator, the complainant) can read it. When the complainant approves a version, the text
they read is stored readable, because it is meant for the public body; until then nothing
of it reaches the body.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.domain import clocks
from mediation.domain.permissions import CASE_OFFICER, MEDIATOR
from mediation.domain.workflow import RESPONDENT_ACTIVE
from mediation.models.cases import Case
from mediation.models.casework import DisclosureStatement
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services import case_clocks, complaints, notifications
from mediation.services.accounts import actor_for
from mediation.services.audit import Actor, record
from mediation.services.case_keys import case_sealing_key, field_context, lock_case
from mediation.services.errors import InvalidInput, NotAllowed, NotFound
from mediation.vault import KeyPair, open_text, seal_text

STATEMENT_LIMIT = 6000
CHANGE_REQUEST_LIMIT = 3000
WORKING = ("draft", "awaiting_approval", "changes_requested")
# A statement can be prepared once a case is accepted, and not after it is over.
OPEN_STATES = frozenset(
    {
        "triage",
        "informal_resolution",
        "mediation_offered",
        "mediator_appointed",
        "in_mediation",
        "agreement",
        "implementation_check",
        "on_hold",
    }
)


def _check_open(case: Case) -> None:
    """A statement goes to the public body only while the complaint is open."""
    if case.state not in OPEN_STATES:
        raise InvalidInput(
            "This complaint is no longer open, so nothing is sent to the public body."
        )


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _context(case: Case, statement: DisclosureStatement, part: str) -> str:
    return field_context(case, f"statement:{statement.id}:{part}")


def statements(session: Session, case: Case) -> list[DisclosureStatement]:
    return list(
        session.execute(
            select(DisclosureStatement)
            .where(DisclosureStatement.case_id == case.id)
            .order_by(DisclosureStatement.version)
        ).scalars()
    )


def approved(session: Session, case: Case) -> DisclosureStatement | None:
    return session.execute(
        select(DisclosureStatement).where(
            DisclosureStatement.case_id == case.id, DisclosureStatement.status == "approved"
        )
    ).scalar_one_or_none()


def working(session: Session, case: Case) -> DisclosureStatement | None:
    """The version being drafted or waiting for the complainant, if any."""
    return working_of(statements(session, case))


def working_of(versions: list[DisclosureStatement]) -> DisclosureStatement | None:
    """`working` among a case's versions already read (in order)."""
    rows = [s for s in versions if s.status in WORKING]
    return rows[-1] if rows else None


def approved_of(versions: list[DisclosureStatement]) -> DisclosureStatement | None:
    """`approved` among a case's versions already read (in order). Approving a version
    supersedes the one approved before it, so there is at most one; were there ever more,
    the latest is the one the public body was told."""
    rows = [s for s in versions if s.status == "approved"]
    return rows[-1] if rows else None


def _check_author(author: StaffUser, case: Case) -> None:
    if author.role == CASE_OFFICER:
        return
    if author.role == MEDIATOR and case.mediator_id == author.id:
        return
    raise NotAllowed("Only a case officer or the case's mediator can draft the statement.")


def save_draft(session: Session, author: StaffUser, case: Case, text: str) -> DisclosureStatement:
    """Seal a draft; a version already sent to the complainant is revised as a new one."""
    _check_author(author, case)
    if case.state not in OPEN_STATES:
        raise InvalidInput("A statement can only be prepared while the case is open.")
    if case.case_public_key is None:
        raise InvalidInput("This case's records have been destroyed.")
    text = text.strip()
    if not text:
        raise InvalidInput("Write the statement for the public body.")
    if len(text) > STATEMENT_LIMIT:
        raise InvalidInput(f"Keep the statement under {STATEMENT_LIMIT} characters.")
    # The case lock first: two drafts saved at once are numbered one after the other.
    public = case_sealing_key(session, case)
    row = working(session, case)
    if row is None or row.status != "draft":
        versions = [s.version for s in statements(session, case)]
        for older in statements(session, case):
            if older.status in {"awaiting_approval", "changes_requested"}:
                older.status = "superseded"
        row = DisclosureStatement(
            case_id=case.id,
            version=max(versions, default=0) + 1,
            status="draft",
            drafted_on=utcnow().date(),
        )
        session.add(row)
        session.flush()
    row.author_id = author.id
    row.drafted_on = utcnow().date()
    row.draft = seal_text(text, public, _context(case, row, "draft"))
    record(
        session,
        actor_for(author),
        "statement.drafted",
        case_reference=case.reference,
        details={"version": row.version},
    )
    return row


def send_for_approval(session: Session, author: StaffUser, case: Case) -> DisclosureStatement:
    _check_author(author, case)
    case = lock_case(session, case)  # as every change to a case's statements
    _check_open(case)
    row = working(session, case)
    if row is None or row.status != "draft":
        raise InvalidInput("There is no draft statement to send.")
    row.status = "awaiting_approval"
    row.sent_on = utcnow().date()
    record(
        session,
        actor_for(author),
        "statement.sent_for_approval",
        case_reference=case.reference,
        details={"version": row.version},
    )
    notifications.notify_complainant(session, case, "statement_to_approve")
    return row


def read_draft(case: Case, row: DisclosureStatement, case_key: KeyPair) -> str:
    if row.draft is None:
        return row.approved_text or ""
    return open_text(row.draft, case_key, _context(case, row, "draft"))


def read_change_request(case: Case, row: DisclosureStatement, case_key: KeyPair) -> str:
    if row.change_request is None:
        return ""
    return open_text(row.change_request, case_key, _context(case, row, "change-request"))


def awaiting(session: Session, case: Case) -> DisclosureStatement | None:
    row = working(session, case)
    return row if row is not None and row.status == "awaiting_approval" else None


def complainant_decides(
    session: Session,
    case: Case,
    case_key: KeyPair,
    statement_id: int,
    *,
    approve: bool,
    shown_digest: str,
    change_request: str = "",
) -> DisclosureStatement:
    """The complainant approves the text they were shown, or asks for changes. Caller commits.

    `case_key` is the case key opened with the complainant's passphrase key: only someone
    holding it can read the draft, and so approve it.
    """
    # The case lock first, as for every change to a case's statements (and before the
    # statement's row): a draft saved at the same moment waits, or is waited for.
    case = lock_case(session, case)
    row = session.get(DisclosureStatement, statement_id, populate_existing=True)
    if row is None or row.case_id != case.id:
        raise NotFound("There is no such statement on your case.")
    if row.status != "awaiting_approval":
        raise InvalidInput("This version is no longer waiting for your answer.")
    if approve:
        _check_open(case)
    text = read_draft(case, row, case_key)
    if not hmac.compare_digest(digest(text), shown_digest or ""):
        raise InvalidInput("The statement changed while you were reading it. Read it again.")
    today = utcnow().date()
    row.decided_on = today
    actor = Actor.complainant()
    if approve:
        first = approved(session, case)
        if first is not None:
            first.status = "superseded"
            first.approved_text = None
        session.flush()
        row.status = "approved"
        row.approved_text = text
        row.draft = None
        record(
            session,
            actor,
            "statement.approved",
            case_reference=case.reference,
            details={"version": row.version},
        )
        # The body's 20 working days run once it can answer: now, or when the case gets
        # there (services.workflow starts the clock then).
        standing = case.state_before_hold if case.state == "on_hold" else case.state
        if standing in RESPONDENT_ACTIVE:
            case_clocks.start_clock(session, case, clocks.RESPONDENT_REPLY, today)
        notifications.notify(session, case, "respondents", "respondent_case", actor=actor)
    else:
        request = change_request.strip()
        if not request:
            raise InvalidInput("Say what should change.")
        if len(request) > CHANGE_REQUEST_LIMIT:
            raise InvalidInput(f"Keep your request under {CHANGE_REQUEST_LIMIT} characters.")
        row.status = "changes_requested"
        row.change_request = seal_text(
            request,
            case_sealing_key(session, case),
            _context(case, row, "change-request"),
        )
        record(
            session,
            actor,
            "statement.changes_requested",
            case_reference=case.reference,
            details={"version": row.version},
        )
    notifications.notify(session, case, "case_officers", "statement_answer", actor=actor)
    notifications.notify(session, case, "mediator", "statement_answer", actor=actor)
    return row


@dataclass(frozen=True)
class ComplainantStatement:
    """What the complainant sees: the version waiting for them, and the one that is live."""

    awaiting: DisclosureStatement | None
    awaiting_text: str
    awaiting_digest: str
    approved: DisclosureStatement | None
    openness: str


def for_complainant(session: Session, case: Case, complainant_key: KeyPair) -> ComplainantStatement:
    """Opened with the key derived from the passphrase: no one else's session can do this."""
    case_key = complaints.complainant_case_key(case, complainant_key)
    row = awaiting(session, case)
    text = read_draft(case, row, case_key) if row is not None else ""
    return ComplainantStatement(
        awaiting=row,
        awaiting_text=text,
        awaiting_digest=digest(text) if row is not None else "",
        approved=approved(session, case),
        openness=case.openness,
    )


def complainant_answers(
    session: Session,
    case: Case,
    complainant_key: KeyPair,
    statement_id: int,
    *,
    approve: bool,
    shown_digest: str,
    change_request: str = "",
) -> DisclosureStatement:
    """The complainant's answer, from their signed-in session. Caller commits."""
    case_key = complaints.complainant_case_key(case, complainant_key)
    return complainant_decides(
        session,
        case,
        case_key,
        statement_id,
        approve=approve,
        shown_digest=shown_digest,
        change_request=change_request,
    )
