"""Stored key material: wrapped staff keys and per-session key custody. Never a clear key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from mediation.extensions import db
from mediation.models.time import utcnow


class StaffKey(db.Model):  # type: ignore[name-defined,misc]
    """A staff user's key pair: the public half, and the private half wrapped twice."""

    __tablename__ = "staff_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    suite: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # Argon2id(password) wraps it for daily use; the recovery key wraps it after a reset.
    wrapped_by_password: Mapped[dict[str, Any]] = mapped_column(JSON)
    wrapped_by_recovery: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A case officer's key holds new cases only once it is admitted as a custodian's: by the
    # key ceremony (the first), or by an existing custodian. Whoever can create accounts
    # (the admin, the server's operator) therefore cannot make themselves a custodian.
    admitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    admitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class KeyCustody(db.Model):  # type: ignore[name-defined,misc]
    """An unlocked private key held for one signed-in session, sealed under a cookie-only key."""

    __tablename__ = "key_custody"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
