"""Triage: categorising the breaches, confirming the public body, linking duplicates, and
the decision to accept a case (informally or for mediation), refer it or not accept it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from mediation.domain import workflow as table
from mediation.domain.permissions import CASE_OFFICER
from mediation.domain.taxonomy import load_taxonomy
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case
from mediation.models.casework import CaseLink, DisclosureStatement, TriageRecord
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services import complaints, intake_bodies, organisation_pseudonyms
from mediation.services.accounts import actor_for
from mediation.services.audit import record
from mediation.services.case_keys import NotAHolder, lock_case
from mediation.services.errors import InvalidInput, NotAllowed
from mediation.services.workflow import perform
from mediation.vault import KeyPair

# While these hold, the assessment can still change; after, the public body may have been
# shown the case, so its body must not change under it.
OPEN_FOR_TRIAGE = frozenset({"submitted", "acknowledged", "triage"})
DECISIONS = {
    "informal": "start_informal",
    "mediation": "offer_mediation",
    "decline": "decline",
    "refer": "refer",
}
LANGUAGE_LENGTH = 10
# The version a form carries when it was filled in before any assessment was saved.
NO_ASSESSMENT = 0


class AssessmentChanged(InvalidInput):
    """Another case officer saved the assessment after this one read it; nothing was saved."""

    default_message = (
        "Another case officer saved this assessment while you were working on it, so yours "
        "was not saved and nothing was changed. Their answer is shown with yours: save "
        "yours again only if it should replace theirs."
    )


def triage_record(session: Session, case: Case) -> TriageRecord | None:
    return session.execute(
        select(TriageRecord).where(TriageRecord.case_id == case.id)
    ).scalar_one_or_none()


def assessment_version(row: TriageRecord | None) -> int:
    """The version an assessment form carries: NO_ASSESSMENT before the first save."""
    return row.version if row is not None else NO_ASSESSMENT


def record_triage(
    session: Session,
    officer: StaffUser,
    case: Case,
    *,
    categories: list[str],
    respondent_body_id: int | None,
    language: str | None = None,
    read_version: int | None = None,
    officer_key: KeyPair | None = None,
) -> TriageRecord:
    """Record the breach categories and confirm the public body. Caller commits (and rolls
    back on a refusal).

    `read_version` is the version of the assessment the officer's form was filled in from
    (NO_ASSESSMENT if none had been saved). If another officer has saved since, this save
    is refused with AssessmentChanged and nothing changes. None skips the check, for the
    command line, which shows no earlier answer to overwrite by mistake.
    """
    if officer.role != CASE_OFFICER:
        raise NotAllowed("Only a case officer can assess a case.")
    # Concurrent saves queue on the case row (PostgreSQL); each then reads the
    # assessment the one before it left.
    case = lock_case(session, case)
    if case.state not in OPEN_FOR_TRIAGE:
        raise InvalidInput(
            "The assessment cannot change once the case has been decided "
            f"(it is {table.state_label(case.state).lower()})."
        )
    row = session.execute(
        select(TriageRecord)
        .where(TriageRecord.case_id == case.id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if read_version is not None and read_version != assessment_version(row):
        raise AssessmentChanged()
    known = {c.id for c in load_taxonomy().categories}
    chosen = sorted(set(categories))
    if not chosen:
        raise InvalidInput("Choose at least one breach category.")
    if not set(chosen) <= known:
        raise InvalidInput("Choose breach categories from the list.")
    body = session.get(RespondentBody, respondent_body_id) if respondent_body_id else None
    if body is None:
        raise InvalidInput("Choose the public body the complaint is about.")
    if intake_bodies.is_placeholder(body):
        # It stands for a body the complainant named (sealed in the narrative): the real
        # one must be chosen, or added to the list, before the case can go on.
        raise InvalidInput(
            "The complainant named a body that is not on our list: choose the real public "
            "body, or add it to the list first."
        )
    shown = session.execute(
        select(DisclosureStatement.id).where(
            DisclosureStatement.case_id == case.id, DisclosureStatement.status == "approved"
        )
    ).first()
    if shown is not None and case.respondent_body_id != body.id:
        raise InvalidInput("A public body has already been shown this case: it cannot change.")
    cleaned_language = (language or "").strip().lower()[:LANGUAGE_LENGTH] or None
    if row is None:
        row = TriageRecord(case_id=case.id, triaged_on=utcnow().date())
        session.add(row)
    row.categories = chosen
    row.body_confirmed = True
    row.language = cleaned_language
    row.triaged_on = utcnow().date()
    row.triaged_by_id = officer.id
    case.respondent_body_id = body.id
    body.confirmed = True
    try:
        # The row's UPDATE names the version read (its INSERT, the unique case): a save
        # that landed since, which SQLite's lack of row locks lets through, fails here.
        session.flush()
    except (StaleDataError, IntegrityError) as exc:
        raise AssessmentChanged() from exc
    record(
        session,
        actor_for(officer),
        "case.triaged",
        case_reference=case.reference,
        details={"categories": chosen, "respondent_body_id": body.id},
    )
    if officer_key is not None:
        link_organisation(session, officer, officer_key, case)
    return row


def link_organisation(
    session: Session, officer: StaffUser, officer_key: KeyPair, case: Case
) -> bool:
    """Link the case to its organisation's statistics pseudonym, so that releases count the
    organisation once however many complaints it makes.

    The organisation's name is read from the sealed identity in memory, inside this
    custodian's session, and only a keyed digest of it is kept. An anonymous case counts as
    an organisation of its own. Returns False, with an audit entry saying why, when this
    officer does not hold the statistics key or the case has no statistical record (a later
    save of the assessment by an officer who holds it makes the link).
    """
    if case.openness == "anonymous" or case.identity is None:
        return False
    name = organisation_pseudonyms.organisation_of(case, officer_key)
    if not name:
        return False
    try:
        organisation_pseudonyms.set_organisation_pseudonym(
            session, officer, officer_key, case, name
        )
    except NotAHolder as exc:
        # No statistics key for this officer, or no statistical record for the case: the
        # message names which, and nothing about the organisation.
        record(
            session,
            actor_for(officer),
            "statistics.organisation_not_linked",
            case_reference=case.reference,
            details={"why": str(exc)},
        )
        return False
    return True


def link_duplicate(session: Session, case: Case, original_reference: str) -> Case:
    original = complaints.find_case(session, original_reference)
    if original is None:
        raise InvalidInput("There is no case with that reference to link as the original.")
    if original.id == case.id:
        raise InvalidInput("A case cannot duplicate itself.")
    exists = session.execute(
        select(CaseLink.id).where(
            CaseLink.case_id == case.id,
            CaseLink.linked_case_id == original.id,
            CaseLink.kind == "duplicate",
        )
    ).first()
    if exists is None:
        session.add(
            CaseLink(
                case_id=case.id,
                linked_case_id=original.id,
                kind="duplicate",
                linked_on=utcnow().date(),
            )
        )
    return original


def decide(
    session: Session,
    officer: StaffUser,
    case: Case,
    *,
    decision: str,
    reason: str = "",
    decline_reason: str = "",
    duplicate_of: str = "",
    referred_to: str = "",
    expected_state: str | None = None,
) -> table.Plan:
    """The triage decision, through the workflow. Caller commits (rolls back on refusal)."""
    action = DECISIONS.get(decision)
    if action is None:
        raise InvalidInput("Choose a decision.")
    if decision in {"informal", "mediation"}:
        row = triage_record(session, case)
        if row is None or not row.body_confirmed or not row.categories:
            raise InvalidInput(
                "Record the breach categories and confirm the public body before accepting."
            )
    fields: dict[str, str] = {"reason": reason.strip()}
    if decision == "decline":
        fields["decline_reason"] = decline_reason
        if decline_reason == "duplicate" and duplicate_of.strip():
            original = link_duplicate(session, case, duplicate_of)
            fields["duplicate_of"] = original.reference
    if decision == "refer":
        fields["referred_to"] = referred_to.strip()
    return perform(
        session,
        case,
        action,
        actor_for(officer),
        role=CASE_OFFICER,
        fields=fields,
        expected_state=expected_state,
    )


def links(session: Session, case: Case) -> list[tuple[str, Case]]:
    """Cases linked to this one, either way round: ("duplicate of" / "repeated by", case)."""
    out: list[tuple[str, Case]] = []
    for row in session.execute(select(CaseLink).where(CaseLink.case_id == case.id)).scalars():
        other = session.get(Case, row.linked_case_id)
        if other is not None:
            out.append(("duplicate of", other))
    for row in session.execute(
        select(CaseLink).where(CaseLink.linked_case_id == case.id)
    ).scalars():
        other = session.get(Case, row.case_id)
        if other is not None:
            out.append(("repeated by", other))
    return out
