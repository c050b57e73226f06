"""Finding a case for the person asking, only if they may have it: a case officer who holds
its key, the mediator assigned to it, or staff of the public body once it can see it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mediation.domain.permissions import CASE_OFFICER, MEDIATOR, RESPONDENT
from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.services import complaints, disclosure_statements
from mediation.services.case_keys import NotAHolder
from mediation.services.errors import NotFound
from mediation.vault import KeyPair


class CaseNotFound(NotFound):
    # The same words whether the case does not exist or is someone else's.
    default_message = "There is no case with that reference that you can open."


class RecordsDestroyed(NotFound):
    default_message = "This case closed and its records were destroyed at the end of retention."


def find(session: Session, reference: str) -> Case:
    case = complaints.find_case(session, reference)
    if case is None:
        raise CaseNotFound()
    return case


def officer_case(
    session: Session, user: StaffUser, user_key: KeyPair, reference: str
) -> tuple[Case, KeyPair]:
    """A case officer's way in: the case and its key, opened with their grant (audited)."""
    if user.role != CASE_OFFICER:
        raise CaseNotFound()
    case = find(session, reference)
    if case.keys_destroyed_on is not None:
        raise RecordsDestroyed()
    return case, complaints.staff_case_key(session, user, user_key, case)


def officer_case_metadata(session: Session, user: StaffUser, reference: str) -> Case:
    """The case row alone (state, dates, codes), for a case officer's forms."""
    if user.role != CASE_OFFICER:
        raise CaseNotFound()
    return find(session, reference)


def mediator_case(
    session: Session, user: StaffUser, user_key: KeyPair, reference: str
) -> tuple[Case, KeyPair]:
    """The assigned mediator's way in; anyone else is told there is no such case."""
    if user.role != MEDIATOR:
        raise CaseNotFound()
    case = find(session, reference)
    if case.mediator_id != user.id:
        raise CaseNotFound()
    if case.keys_destroyed_on is not None:
        raise RecordsDestroyed()
    try:
        key = complaints.staff_case_key(session, user, user_key, case)
    except NotAHolder as exc:
        raise CaseNotFound() from exc
    return case, key


def identity_case(session: Session, user: StaffUser, reference: str) -> Case:
    """A case whose identity pages the user may use: any case for a case officer, their
    own assigned case for a mediator. Anyone else's case is CaseNotFound, exactly as a
    reference that does not exist (G11)."""
    case = find(session, reference)
    if user.role == CASE_OFFICER:
        return case
    if user.role == MEDIATOR and case.mediator_id == user.id:
        return case
    raise CaseNotFound()


def respondent_can_see(session: Session, user: StaffUser, case: Case) -> bool:
    if user.role != RESPONDENT or user.respondent_body_id is None:
        return False
    if case.respondent_body_id != user.respondent_body_id or case.keys_destroyed_on:
        return False
    return disclosure_statements.approved(session, case) is not None


def respondent_case(session: Session, user: StaffUser, reference: str) -> Case:
    """A case against the user's own body that has an approved statement, or CaseNotFound."""
    case = complaints.find_case(session, reference)
    if case is None or not respondent_can_see(session, user, case):
        raise CaseNotFound()
    return case
