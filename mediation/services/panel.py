"""The mediator panel, managed by an admin: specialisms, regions, languages, capacity,
leave, accreditation and CPD dates, and declared interests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.domain.permissions import MEDIATOR
from mediation.domain.taxonomy import load_taxonomy
from mediation.models.bodies import RespondentBody
from mediation.models.panel import MediatorProfile
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services.audit import Actor, record
from mediation.services.errors import InvalidInput, NotFound

_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_LEAVE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(?:to|-|\u2013)\s*(\d{4}-\d{2}-\d{2})\s*$")
MAX_CAPACITY = 20


@dataclass(frozen=True)
class PanelEntry:
    user: StaffUser
    profile: MediatorProfile | None


def panel(session: Session) -> list[PanelEntry]:
    rows = session.execute(
        select(StaffUser, MediatorProfile)
        .outerjoin(MediatorProfile, MediatorProfile.user_id == StaffUser.id)
        .where(StaffUser.role == MEDIATOR)
        .order_by(StaffUser.name)
    ).all()
    return [PanelEntry(row[0], row[1]) for row in rows]


def entry(session: Session, user_id: int) -> PanelEntry:
    user = session.get(StaffUser, user_id)
    if user is None or user.role != MEDIATOR:
        raise NotFound("There is no mediator with that id.")
    profile = session.execute(
        select(MediatorProfile).where(MediatorProfile.user_id == user_id)
    ).scalar_one_or_none()
    return PanelEntry(user, profile)


def parse_languages(text: str) -> list[str]:
    codes = sorted({c.strip().lower() for c in re.split(r"[,\s]+", text) if c.strip()})
    bad = [c for c in codes if not _LANGUAGE.match(c)]
    if bad:
        raise InvalidInput("Give languages as 2 or 3 letter codes, like en, cy, pl.")
    return codes or ["en"]


def parse_leave(text: str) -> list[dict[str, str]]:
    periods = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LEAVE.match(line)
        if match is None:
            raise InvalidInput(f"Leave line {number}: write it as 2027-03-01 to 2027-03-12.")
        try:
            start, end = (date.fromisoformat(match.group(i)) for i in (1, 2))
        except ValueError as exc:
            raise InvalidInput(f"Leave line {number}: that is not a real date.") from exc
        if end < start:
            raise InvalidInput(f"Leave line {number}: the end is before the start.")
        periods.append({"start": start.isoformat(), "end": end.isoformat()})
    return periods


def parse_interests(session: Session, text: str) -> list[dict[str, Any]]:
    """Lines of "body: <public body name> | what it is" or "organisation: <name> | what".

    Only confirmed bodies can be named: the unconfirmed ones are per-type placeholders for
    bodies a complainant typed, and an interest in one would match every such case.
    """
    listed = select(RespondentBody).where(RespondentBody.confirmed.is_(True))
    bodies = {b.name.casefold(): b for b in session.execute(listed).scalars()}
    interests: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        kind, _, rest = line.partition(":")
        name, _, description = rest.partition("|")
        kind, name, description = kind.strip().lower(), name.strip(), description.strip()
        if kind not in {"body", "organisation"} or not name:
            raise InvalidInput(
                f"Interest line {number}: start with body: or organisation: and a name."
            )
        if kind == "body":
            body = bodies.get(name.casefold())
            if body is None:
                raise InvalidInput(f"Interest line {number}: there is no public body called that.")
            interests.append({"body_id": body.id, "organisation": None, "text": description})
        else:
            interests.append({"body_id": None, "organisation": name, "text": description})
    return interests


def interests_text(session: Session, interests: list[dict[str, Any]]) -> str:
    names = {b.id: b.name for b in session.execute(select(RespondentBody)).scalars()}
    lines = []
    for item in interests or []:
        if item.get("body_id") is not None:
            lines.append(f"body: {names.get(item['body_id'], '?')} | {item.get('text') or ''}")
        elif item.get("organisation"):
            lines.append(f"organisation: {item['organisation']} | {item.get('text') or ''}")
    return "\n".join(lines)


def update_profile(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    specialisms: list[str],
    regions: list[str],
    languages: str,
    capacity: int,
    accreditation_body: str,
    accredited_on: date | None,
    cpd_last_date: date | None,
    cpd_hours: int,
    leave: str,
    interests: str,
) -> MediatorProfile:
    """Validate and save a mediator's panel details, with an audit entry. Caller commits."""
    found = entry(session, user_id)
    taxonomy = load_taxonomy()
    if not set(specialisms) <= {c.id for c in taxonomy.categories}:
        raise InvalidInput("Choose specialisms from the list.")
    if not set(regions) <= {r.id for r in taxonomy.regions}:
        raise InvalidInput("Choose regions from the list.")
    if not 0 <= capacity <= MAX_CAPACITY:
        raise InvalidInput(f"Capacity is a number of cases from 0 to {MAX_CAPACITY}.")
    if cpd_hours < 0:
        raise InvalidInput("CPD hours cannot be negative.")
    today = utcnow().date()
    if accredited_on is not None and accredited_on > today:
        raise InvalidInput("The accreditation date cannot be in the future.")
    if cpd_last_date is not None and cpd_last_date > today:
        raise InvalidInput("The last CPD date cannot be in the future.")
    profile = found.profile or MediatorProfile(user_id=user_id)
    profile.specialisms = sorted(set(specialisms))
    profile.regions = sorted(set(regions))
    profile.languages = parse_languages(languages)
    profile.capacity = capacity
    profile.accreditation_body = accreditation_body.strip() or None
    profile.accredited_on = accredited_on
    profile.cpd_last_date = cpd_last_date
    profile.cpd_hours = cpd_hours
    profile.leave = parse_leave(leave)
    profile.interests = parse_interests(session, interests)
    if found.profile is None:
        session.add(profile)
    record(
        session,
        actor,
        "panel.updated",
        details={"mediator_id": user_id, "capacity": capacity, "interests": len(profile.interests)},
    )
    return profile
