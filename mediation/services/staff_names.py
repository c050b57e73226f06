"""Staff members' names for the pages and logs that show who did what."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.models.staff import StaffUser


def names(
    session: Session, ids: Iterable[int | None], *, with_role: bool = False
) -> dict[int, str]:
    """The names of the staff members with these ids ("Name (case officer)" with their
    role): two columns of only those rows, however many people the service has."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(StaffUser.id, StaffUser.name, StaffUser.role).where(StaffUser.id.in_(wanted))
    )
    return {
        user_id: f"{name} ({role.replace('_', ' ')})" if with_role else name
        for user_id, name, role in rows
    }


def everyone(session: Session) -> dict[int, str]:
    """Every staff member's name by id (a case file names people from many of its parts):
    two columns a person, never their rows' keys, hashes or secrets."""
    return dict(session.execute(select(StaffUser.id, StaffUser.name)).all())
