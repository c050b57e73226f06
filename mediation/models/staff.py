"""Staff accounts: case officers, mediators, respondents, analysts and admins."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.extensions import db
from mediation.models.bodies import RespondentBody
from mediation.models.time import utcnow


class Role(StrEnum):
    """What a member of staff does; permissions hang off the role (domain.permissions)."""

    CASE_OFFICER = "case_officer"
    MEDIATOR = "mediator"
    RESPONDENT = "respondent"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class StaffUser(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    """A signed-in person on the service's side; complainants never have one."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Sealed to the user's own key ("sealed:" and base64; accounts.store_totp_secret).
    totp_secret: Mapped[str | None] = mapped_column(Text)
    # An authenticator being set up, until its first code: sealed alike, under another
    # context (accounts.pending_totp_secret); never in the session cookie.
    totp_pending_secret: Mapped[str | None] = mapped_column(Text)
    totp_last_counter: Mapped[int | None] = mapped_column(Integer)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change or deactivation so that existing sessions end everywhere.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    respondent_body_id: Mapped[int | None] = mapped_column(ForeignKey("respondent_bodies.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    respondent_body: Mapped[RespondentBody | None] = relationship()

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class SetupToken(db.Model):  # type: ignore[name-defined,misc]
    """A single-use link that lets a new or reset user choose a password."""

    __tablename__ = "setup_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    # Only a hash of the token is stored: the database alone cannot take over an account.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[StaffUser] = relationship()


class StaffSession(db.Model):  # type: ignore[name-defined,misc]
    """One signed-in staff session. The session cookie is only signed (readable and, once
    copied, replayable), so a session is also a row here: signing out deletes it, and a
    copy of the cookie then opens nothing; a session ends after a fixed time however
    active. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StaffApiToken(db.Model):  # type: ignore[name-defined,misc]
    """A bearer token for the JSON API, made in the browser by a public body's member of
    staff (signed in with their authenticator) for their own case system. Only its hash is
    stored; it lasts at most `api_tokens.LIFETIME`, its owner can revoke it, and a user's
    tokens end whenever their sessions do (deactivation, a reset, a new password)."""

    __tablename__ = "staff_api_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    label: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_on: Mapped[date | None] = mapped_column(Date)
