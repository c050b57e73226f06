"""The mediator's workspace: sealed notes, messages to each party apart and together,
sessions and the papers due before them, and the agreement to mediate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.domain import clocks
from mediation.domain.permissions import CASE_OFFICER, MEDIATOR
from mediation.models.cases import Case, CaseMessage
from mediation.models.casework import (
    AgreementToMediate,
    CaseNote,
    MediationSession,
    RespondentMessage,
)
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services import case_access, case_clocks, complaints, notifications
from mediation.services.accounts import actor_for
from mediation.services.audit import record
from mediation.services.case_keys import case_sealing_key, field_context, lock_case
from mediation.services.errors import InvalidInput, NotAllowed, NotFound
from mediation.services.workflow import perform
from mediation.vault import KeyPair, open_text, seal_text

MESSAGE_LIMIT = 5000
NOTE_LIMIT = 10000
PARTS_OF_DAY = {"morning": "Morning", "afternoon": "Afternoon", "all_day": "All day"}
PLACE_LIMIT = 200
# Actions the mediator takes from the workspace through the workflow.
MEDIATOR_ACTIONS = frozenset(
    {"begin_mediation", "record_agreement", "record_no_agreement", "mediator_withdraw"}
)
# What each staff role reads of the messages sealed to the case.
READABLE_AUDIENCES = {
    CASE_OFFICER: frozenset({"complainant", "both", "case_officer", "mediator"}),
    MEDIATOR: frozenset({"complainant", "both", "mediator"}),
}


def _check_worker(user: StaffUser, case: Case) -> None:
    """Case officers, and the mediator of this case, may work on it."""
    if user.role == CASE_OFFICER:
        return
    if user.role == MEDIATOR and case.mediator_id == user.id:
        return
    raise NotAllowed("Only the case's mediator or a case officer can do that.")


def _text(value: str, limit: int, what: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInput(f"Write the {what}.")
    if len(cleaned) > limit:
        raise InvalidInput(f"Keep the {what} under {limit} characters.")
    return cleaned


# Notes --------------------------------------------------------------------------------


def _note_context(case: Case, note: CaseNote) -> str:
    return field_context(case, f"note:{note.id}")


def add_note(session: Session, author: StaffUser, case: Case, text: str) -> CaseNote:
    """A working note sealed to the case key: never shown to either party."""
    _check_worker(author, case)
    body = _text(text, NOTE_LIMIT, "note")
    if case.case_public_key is None:
        raise InvalidInput("This case's records have been destroyed.")
    public = case_sealing_key(session, case)  # the case lock before the row, as messages
    note = CaseNote(case_id=case.id, author_id=author.id, written_on=utcnow().date())
    session.add(note)
    session.flush()
    note.body = seal_text(body, public, _note_context(case, note))
    record(session, actor_for(author), "note.added", case_reference=case.reference)
    return note


def read_notes(session: Session, case: Case, case_key: KeyPair) -> list[tuple[CaseNote, str]]:
    notes = session.execute(
        select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id)
    ).scalars()
    return [
        (n, open_text(n.body, case_key, _note_context(case, n)) if n.body else "") for n in notes
    ]


# Messages -----------------------------------------------------------------------------

TO_COMPLAINANT = "complainant"
TO_RESPONDENT = "respondent"
TO_BOTH = "both"


def send_message(session: Session, author: StaffUser, case: Case, audience: str, text: str) -> None:
    """To the complainant (sealed), the public body (readable: it is meant for them), or
    both (one of each). The body can be written to only once it can see the case."""
    _check_worker(author, case)
    body = _text(text, MESSAGE_LIMIT, "message")
    if audience not in {TO_COMPLAINANT, TO_RESPONDENT, TO_BOTH}:
        raise InvalidInput("Choose who the message is for.")
    # The case lock before the audit log's head (which `record` below holds until commit):
    # rotation and the retention purge take them in that order.
    case = lock_case(session, case)
    actor = actor_for(author)
    if audience in {TO_RESPONDENT, TO_BOTH}:
        if not _body_can_see(session, case):
            raise InvalidInput(
                "The public body cannot see this case until the complainant approves a "
                "disclosure statement."
            )
        session.add(
            RespondentMessage(
                case_id=case.id,
                kind="message",
                audience=audience,
                author_kind=author.role,
                author_id=author.id,
                sent_on=utcnow().date(),
                body=body,
            )
        )
        record(
            session,
            actor,
            "message.to_respondent",
            case_reference=case.reference,
            details={"audience": audience},
        )
        notifications.notify(session, case, "respondents", "case_update", actor=actor)
    if audience in {TO_COMPLAINANT, TO_BOTH}:
        # Sealed with the complainant's audience either way, so their portal shows it; the
        # readable copy above records that the public body was sent the same words.
        complaints.add_message(session, case, actor, body, audience=TO_COMPLAINANT)
        case_clocks.operate(session, case, "meet", clocks.FEEDBACK)
        notifications.notify(session, case, TO_COMPLAINANT, "your_case_update", actor=actor)


def _body_can_see(session: Session, case: Case) -> bool:
    from mediation.services.disclosure_statements import approved

    return approved(session, case) is not None


def complainant_thread(
    session: Session, viewer: StaffUser, case: Case, case_key: KeyPair
) -> list[tuple[CaseMessage, str]]:
    """Sealed messages with the complainant that this staff role may read."""
    allowed = READABLE_AUDIENCES.get(viewer.role, frozenset())
    return [
        (m, text)
        for m, text in complaints.read_messages(session, case, case_key)
        if m.audience in allowed
    ]


def respondent_thread(session: Session, case: Case) -> list[RespondentMessage]:
    return list(
        session.execute(
            select(RespondentMessage)
            .where(RespondentMessage.case_id == case.id)
            .order_by(RespondentMessage.id)
        ).scalars()
    )


# Sessions and papers -------------------------------------------------------------------


def sessions(session: Session, case: Case) -> list[MediationSession]:
    return list(
        session.execute(
            select(MediationSession)
            .where(MediationSession.case_id == case.id)
            .order_by(MediationSession.held_on, MediationSession.id)
        ).scalars()
    )


def schedule_session(
    session: Session,
    author: StaffUser,
    case: Case,
    *,
    held_on: date,
    part_of_day: str,
    online: bool,
    place: str = "",
    today: date | None = None,
) -> MediationSession:
    """A session far enough ahead for papers to reach everyone in time."""
    _check_worker(author, case)
    if case.state not in {"mediator_appointed", "in_mediation"}:
        raise InvalidInput("Sessions are arranged once a mediator is appointed.")
    if part_of_day not in PARTS_OF_DAY:
        raise InvalidInput("Choose morning, afternoon or all day.")
    place = place.strip()
    if not online and not place:
        raise InvalidInput("Say where the session is, or that it is online.")
    if len(place) > PLACE_LIMIT:
        raise InvalidInput(f"Keep the place under {PLACE_LIMIT} characters.")
    today = today or case_clocks.today()
    papers = clocks.papers_due(held_on)
    if papers < today:
        raise InvalidInput(
            "Papers must reach both parties "
            f"{clocks.standards().papers_before_session_working_days} working days before a "
            "session: choose a later date."
        )
    meeting = MediationSession(
        case_id=case.id,
        held_on=held_on,
        part_of_day=part_of_day,
        online=online,
        place=None if online else place,
        papers_due_on=papers,
    )
    session.add(meeting)
    actor = actor_for(author)
    record(
        session,
        actor,
        "session.scheduled",
        case_reference=case.reference,
        details={"held_on": held_on.isoformat(), "online": online},
    )
    notifications.notify(session, case, TO_COMPLAINANT, "your_case_update", actor=actor)
    notifications.notify(session, case, "respondents", "case_update", actor=actor)
    return meeting


def _meeting(session: Session, case: Case, session_id: int) -> MediationSession:
    meeting = session.get(MediationSession, session_id)
    if meeting is None or meeting.case_id != case.id:
        raise NotFound("There is no such session on this case.")
    return meeting


def record_papers(
    session: Session, author: StaffUser, case: Case, session_id: int, party: str, on: date
) -> MediationSession:
    """Note the day a party's papers for a session arrived."""
    _check_worker(author, case)
    meeting = _meeting(session, case, session_id)
    if party == "complainant":
        meeting.complainant_papers_on = on
    elif party == "respondent":
        meeting.respondent_papers_on = on
    else:
        raise InvalidInput("Choose whose papers arrived.")
    record(
        session,
        actor_for(author),
        "session.papers_received",
        case_reference=case.reference,
        details={"session_id": meeting.id, "party": party},
    )
    return meeting


def cancel_session(
    session: Session, author: StaffUser, case: Case, session_id: int
) -> MediationSession:
    _check_worker(author, case)
    meeting = _meeting(session, case, session_id)
    meeting.cancelled = True
    actor = actor_for(author)
    record(
        session,
        actor,
        "session.cancelled",
        case_reference=case.reference,
        details={"session_id": meeting.id},
    )
    notifications.notify(session, case, TO_COMPLAINANT, "your_case_update", actor=actor)
    notifications.notify(session, case, "respondents", "case_update", actor=actor)
    return meeting


# Agreement to mediate -------------------------------------------------------------------


def terms(session: Session, case: Case) -> AgreementToMediate:
    """The case's agreement-to-mediate record, created empty on first use."""
    row = session.execute(
        select(AgreementToMediate).where(AgreementToMediate.case_id == case.id)
    ).scalar_one_or_none()
    if row is None:
        row = AgreementToMediate(case_id=case.id)
        session.add(row)
        session.flush()
    return row


def record_signatures(
    session: Session,
    author: StaffUser,
    case: Case,
    *,
    complainant_signed_on: date | None,
    respondent_signed_on: date | None,
) -> AgreementToMediate:
    """The mediator records when each party signed the agreement to mediate."""
    _check_worker(author, case)
    if case.state != "mediator_appointed" or case.mediator_id is None:
        raise InvalidInput(
            "The agreement to mediate is signed after the mediator has accepted the case "
            "and before mediation begins."
        )
    row = terms(session, case)
    if respondent_signed_on and row.respondent_answer != "agreed":
        raise InvalidInput("The public body has not agreed to mediation in its portal yet.")
    today = utcnow().date()
    for signed in (complainant_signed_on, respondent_signed_on):
        if signed and signed > today:
            raise InvalidInput("A signature date cannot be in the future.")
    if complainant_signed_on:
        row.complainant_signed_on = complainant_signed_on
    if respondent_signed_on:
        row.respondent_signed_on = respondent_signed_on
    row.recorded_by_id = author.id
    record(
        session,
        actor_for(author),
        "agreement_to_mediate.recorded",
        case_reference=case.reference,
        details={
            "complainant_signed": row.complainant_signed_on is not None,
            "respondent_signed": row.respondent_signed_on is not None,
        },
    )
    return row


def act(
    session: Session,
    mediator: StaffUser,
    case: Case,
    action: str,
    fields: dict[str, str],
    expected_state: str | None = None,
) -> None:
    """Begin mediation, record an agreement or no agreement, or withdraw."""
    if action not in MEDIATOR_ACTIONS:
        raise InvalidInput("That is not something a mediator does from here.")
    if mediator.role != MEDIATOR or case.mediator_id != mediator.id:
        raise case_access.CaseNotFound()
    if action == "mediator_withdraw":
        from mediation.services import routing

        routing.withdraw(session, mediator, case, fields.get("reason", ""))
        return
    perform(
        session,
        case,
        action,
        actor_for(mediator),
        role=MEDIATOR,
        fields=fields,
        expected_state=expected_state,
    )


@dataclass(frozen=True)
class PapersStatus:
    meeting: MediationSession
    late: bool


def papers_status(meetings: list[MediationSession], today: date) -> list[PapersStatus]:
    return [
        PapersStatus(
            m,
            not m.cancelled
            and m.papers_due_on < today
            and (m.complainant_papers_on is None or m.respondent_papers_on is None),
        )
        for m in meetings
    ]
