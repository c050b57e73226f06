"""Bearer tokens for a public body's own case system to use the JSON API.

A member of the body's staff makes one in the browser, signed in with their password and
authenticator; it is shown once, and only its SHA-256 is kept. It acts as that person,
seeing what their portal shows and nothing more (no case officer, mediator or analyst can
make one). It lasts at most `LIFETIME`, its owner revokes it at any time, and it ends with
the owner's sessions: deactivation, a reset or a new password (`accounts`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mediation.domain.permissions import RESPONDENT
from mediation.models.staff import StaffApiToken, StaffUser
from mediation.services import notifications
from mediation.services.accounts import actor_for
from mediation.services.audit import Actor, record
from mediation.services.errors import InvalidInput, NotAllowed, NotFound

LIFETIME = timedelta(days=90)
MAX_PER_USER = 5
LABEL_LIMIT = 80
PREFIX = "cmr_"
_TOKEN = re.compile(r"cmr_[A-Za-z0-9_-]{43}")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def fingerprint(token: str) -> str:
    """What the audit log and `users tokens` name a token by: its hash's first 12 digits."""
    return _digest(token)[:12]


def create(session: Session, user: StaffUser, label: str, now: datetime) -> str:
    """A new token for the user's own use; returns it (shown once). Caller commits."""
    if user.role != RESPONDENT or user.respondent_body_id is None or not user.active:
        raise NotAllowed("Only staff of a public body can make an API token.")
    label = label.strip()
    if not label:
        raise InvalidInput("Name the token after the system that will use it.")
    if len(label) > LABEL_LIMIT or not label.isprintable():
        raise InvalidInput(f"Keep the name to {LABEL_LIMIT} letters, figures and spaces.")
    live = session.execute(
        select(func.count())
        .select_from(StaffApiToken)
        .where(StaffApiToken.user_id == user.id, StaffApiToken.expires_at > now)
    ).scalar_one()
    if live >= MAX_PER_USER:
        raise InvalidInput(
            f"You have {MAX_PER_USER} tokens already, the most one person can hold. "
            "Revoke one you no longer use first."
        )
    token = PREFIX + secrets.token_urlsafe(32)
    row = StaffApiToken(
        id=_digest(token), user_id=user.id, label=label, created_at=now, expires_at=now + LIFETIME
    )
    session.add(row)
    record(
        session,
        actor_for(user),
        "api_token.created",
        details={"token": row.id[:12], "expires_on": row.expires_at.date().isoformat()},
    )
    # The owner hears of it by email: a token made in a session left open or taken over
    # outlives that session.
    notifications.notify_staff(
        session, [user], "api_token_made", "/respondent/api-tokens", skip=None
    )
    return token


def user_of(session: Session, token: str, now: datetime) -> StaffUser | None:
    """The active public-body user a live token acts as, or None. Notes the day it was
    last used (at most one write a day). Caller commits."""
    if not _TOKEN.fullmatch(token):
        return None
    found = session.execute(
        select(StaffApiToken, StaffUser)
        .join(StaffUser, StaffUser.id == StaffApiToken.user_id)
        .where(StaffApiToken.id == _digest(token), StaffApiToken.expires_at > now)
    ).first()
    if found is None:
        return None
    row, user = found
    if not user.active or user.role != RESPONDENT or user.respondent_body_id is None:
        return None
    if row.last_used_on != now.date():
        row.last_used_on = now.date()
    return user


def tokens_of(session: Session, user: StaffUser, now: datetime) -> list[StaffApiToken]:
    """The user's live tokens, newest first."""
    return list(
        session.execute(
            select(StaffApiToken)
            .where(StaffApiToken.user_id == user.id, StaffApiToken.expires_at > now)
            .order_by(StaffApiToken.created_at.desc())
        ).scalars()
    )


def revoke(session: Session, user: StaffUser, token_id: str) -> None:
    """The owner ends one of their tokens at once. Caller commits."""
    row = session.get(StaffApiToken, token_id) if _FINGERPRINT.fullmatch(token_id) else None
    if row is None or row.user_id != user.id:
        raise NotFound("There is no such token of yours.")
    session.delete(row)
    record(session, actor_for(user), "api_token.revoked", details={"token": token_id[:12]})


def every_live(session: Session, now: datetime) -> list[tuple[StaffApiToken, StaffUser]]:
    """Every live token with its owner, newest first (for the operators' command)."""
    return [
        (row, user)
        for row, user in session.execute(
            select(StaffApiToken, StaffUser)
            .join(StaffUser, StaffUser.id == StaffApiToken.user_id)
            .where(StaffApiToken.expires_at > now)
            .order_by(StaffApiToken.created_at.desc())
        ).all()
    ]


def revoke_by_operator(session: Session, actor: Actor, fingerprint: str) -> StaffApiToken:
    """An operator ends a token named by the start of its fingerprint (at least 12 hex
    digits, as `users tokens` prints it), say one that leaked. Caller commits."""
    if not re.fullmatch(r"[0-9a-f]{12,64}", fingerprint):
        raise InvalidInput("Give at least the first 12 characters of the token's fingerprint.")
    rows = list(
        session.execute(
            select(StaffApiToken).where(StaffApiToken.id.startswith(fingerprint))
        ).scalars()
    )
    if len(rows) != 1:
        raise NotFound("No single token has that fingerprint.")
    session.delete(rows[0])
    record(session, actor, "api_token.revoked", details={"token": rows[0].id[:12]})
    return rows[0]


def purge_expired(session: Session, now: datetime) -> int:
    """Delete expired tokens; how many. Caller commits."""
    expired = session.execute(
        select(StaffApiToken.id).where(StaffApiToken.expires_at <= now)
    ).scalars()
    ids = list(expired)
    if ids:
        session.execute(delete(StaffApiToken).where(StaffApiToken.id.in_(ids)))
    return len(ids)
