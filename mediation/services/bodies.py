"""Respondent bodies: loading the list from CSV and finding bodies by name."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.domain.bodies_csv import BodiesCsvError, parse_bodies_csv
from mediation.domain.taxonomy import load_taxonomy
from mediation.models.bodies import RespondentBody
from mediation.services.audit import Actor, record
from mediation.services.errors import InvalidInput


@dataclass(frozen=True)
class LoadResult:
    added: int
    updated: int


def load_bodies_csv(session: Session, actor: Actor, text: str) -> LoadResult:
    """Add or update bodies by name from CSV text; nothing is written if any row is bad."""
    try:
        rows = parse_bodies_csv(text, load_taxonomy())
    except BodiesCsvError as exc:
        raise InvalidInput(str(exc)) from exc
    existing = {body.name: body for body in session.execute(select(RespondentBody)).scalars()}
    added = updated = 0
    for row in rows:
        body = existing.get(row.name)
        if body is None:
            session.add(
                RespondentBody(
                    name=row.name,
                    body_type=row.type,
                    region=row.region,
                    local_authority_kind=row.local_authority_kind,
                    compact=row.compact,
                    confirmed=True,
                )
            )
            added += 1
        elif (body.body_type, body.region, body.local_authority_kind, body.compact) != (
            row.type,
            row.region,
            row.local_authority_kind,
            row.compact,
        ):
            body.body_type = row.type
            body.region = row.region
            body.local_authority_kind = row.local_authority_kind
            body.compact = row.compact
            updated += 1
    record(session, actor, "bodies.loaded", details={"added": added, "updated": updated})
    return LoadResult(added, updated)
