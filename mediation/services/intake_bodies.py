"""Public bodies a complainant names that are not on our list: sealed, never stored in the clear.

The typed name lives only in the case's sealed narrative (``respondent_body_named``). The
case is filed against a placeholder body, one per type ("Unlisted public body (Local
authority), awaiting triage"), which no search, triage list or invitation ever offers; at
triage a case officer reads the sealed name and picks the real body, or adds it to the list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mediation.domain.permissions import CASE_OFFICER
from mediation.domain.taxonomy import UnknownReferenceError, load_taxonomy
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.services.accounts import actor_for
from mediation.services.audit import record
from mediation.services.errors import InvalidInput, NotAllowed
from mediation.services.intake_documents import SHORT_TEXT
from mediation.services.intake_rules import printable

PLACEHOLDER_PREFIX = "Unlisted public body"
PLACEHOLDER_REGION = "unknown"
# The narrative's key for the name as the complainant typed it (see Complaint.narrative).
NAMED_KEY = "respondent_body_named"


def placeholder_name(body_type: str) -> str:
    """The placeholder's name for a type: says only the type, never what was typed."""
    try:
        label = load_taxonomy().body_type(body_type).label
    except UnknownReferenceError:
        label = body_type
    return f"{PLACEHOLDER_PREFIX} ({label}), awaiting triage"


def is_placeholder(body: RespondentBody | None) -> bool:
    return (
        body is not None
        and not body.confirmed
        and body.region == PLACEHOLDER_REGION
        and body.name.startswith(PLACEHOLDER_PREFIX)
    )


def _compact_of(body_type: str) -> str:
    return "local" if body_type == "local_authority" else "national"


def placeholder_for(session: Session, body_type: str) -> RespondentBody:
    """The shared placeholder of this type, made the first time it is needed.

    Two complaints filing the first of a type at once both try to insert it: the loser's
    savepoint rolls back and it uses the winner's row (a unique name).
    """
    name = placeholder_name(body_type)
    query = select(RespondentBody).where(RespondentBody.name == name)
    found = session.execute(query).scalar_one_or_none()
    if found is not None:
        return found
    body = RespondentBody(
        name=name,
        body_type=body_type,
        region=PLACEHOLDER_REGION,
        compact=_compact_of(body_type),
        confirmed=False,
    )
    try:
        with session.begin_nested():
            session.add(body)
    except IntegrityError:
        return session.execute(query).scalar_one()
    return body


def named_body_in(narrative: str) -> str | None:
    """The body's name as the complainant typed it, from an opened narrative, if any."""
    try:
        content = json.loads(narrative)
    except ValueError:
        return None
    named = content.get(NAMED_KEY) if isinstance(content, dict) else None
    return named if isinstance(named, str) and named.strip() else None


@dataclass(frozen=True)
class AddedBody:
    body: RespondentBody
    added: bool  # False: a body of that name was already on the list


def add_body(
    session: Session,
    officer: StaffUser,
    case: Case,
    *,
    name: str,
    body_type: str,
    region: str,
) -> AddedBody:
    """A case officer adds the real body of an unlisted complaint to the list (confirmed).

    A body of the same name already listed is returned as it is. Caller commits; the
    audit entry names the body by id only. Choosing it for the case is the assessment's job.
    """
    if officer.role != CASE_OFFICER:
        raise NotAllowed("Only a case officer can add a public body.")
    taxonomy = load_taxonomy()
    cleaned = " ".join(printable(name, SHORT_TEXT + 1).split())
    if not cleaned:
        raise InvalidInput("Enter the name of the public body.")
    if len(cleaned) > SHORT_TEXT:
        raise InvalidInput(f"The name must be {SHORT_TEXT} characters or fewer.")
    if cleaned.casefold().startswith(PLACEHOLDER_PREFIX.casefold()):
        raise InvalidInput("Enter the public body's own name.")
    if body_type not in {t.id for t in taxonomy.body_types}:
        raise InvalidInput("Choose what kind of public body it is.")
    if region not in {r.id for r in taxonomy.regions}:
        raise InvalidInput("Choose the region where the public body works.")
    same_name = (
        select(RespondentBody)
        .where(func.lower(RespondentBody.name) == cleaned.lower())
        .order_by(RespondentBody.confirmed.desc(), RespondentBody.id)
        .limit(1)
    )
    body = session.execute(same_name).scalars().first()
    if body is not None and body.confirmed:
        return AddedBody(body, added=False)
    if body is None:
        body = RespondentBody(name=cleaned)
    # A body named before names were sealed is confirmed here, with what the officer gave.
    body.body_type = body_type
    body.region = region
    body.compact = _compact_of(body_type)
    body.confirmed = True
    try:
        with session.begin_nested():
            session.add(body)
    except IntegrityError:
        # Another case officer added it at the same moment: theirs is the one.
        return AddedBody(session.execute(same_name).scalar_one(), added=False)
    record(
        session,
        actor_for(officer),
        "bodies.added",
        case_reference=case.reference,
        details={"respondent_body_id": body.id},
    )
    return AddedBody(body, added=True)
