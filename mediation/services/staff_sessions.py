"""Signed-in staff sessions, kept in the database as well as in the signed cookie."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from mediation.models.staff import StaffSession, StaffUser

# Where the session cookie keeps the token.
COOKIE_KEY = "staff_session"
# However active, a member of staff signs in again after this long (the cookie alone
# would be refreshed for ever by a request every 30 minutes).
SESSION_CAP = timedelta(hours=12)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, user: StaffUser, now: datetime) -> str:
    """A new session for the user; returns the token for the cookie. Caller commits."""
    session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            id=_digest(token), user_id=user.id, created_at=now, expires_at=now + SESSION_CAP
        )
    )
    return token


def user_of(session: Session, user_id: int, token: object, now: datetime) -> StaffUser | None:
    """The user of a live session with this token, or None (signed out, expired, or never
    signed in here). One statement, as the user alone took before."""
    if not isinstance(token, str) or not token:
        return None
    return session.execute(
        _USER_OF, {"user_id": user_id, "digest": _digest(token), "now": now}
    ).scalar_one_or_none()


# Asked on every signed-in request: built once (building it took as long as running it).
_USER_OF = (
    select(StaffUser)
    .join(StaffSession, StaffSession.user_id == StaffUser.id)
    .where(
        StaffUser.id == bindparam("user_id", type_=StaffUser.id.type),
        StaffSession.id == bindparam("digest", type_=StaffSession.id.type),
        StaffSession.expires_at > bindparam("now", type_=StaffSession.expires_at.type),
    )
)


def end(session: Session, token: object) -> None:
    """Sign this session out everywhere its cookie has been copied. Caller commits."""
    if isinstance(token, str) and token:
        session.execute(delete(StaffSession).where(StaffSession.id == _digest(token)))


def end_all(session: Session, user_id: int) -> None:
    """Every session of the user (deactivated, reset, or a new password). Caller commits."""
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))


def purge_expired(session: Session, now: datetime) -> int:
    """Delete ended sessions; how many. Caller commits."""
    result = session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
