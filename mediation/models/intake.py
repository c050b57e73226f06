"""Complaint intake: sealed drafts, breaches, complainant sessions, API idempotency keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.extensions import db
from mediation.models.time import utc_day


class Draft(db.Model):  # type: ignore[name-defined,misc]
    """A complaint being written: answers sealed under a key that only the browser holds.

    The row alone (or a backup) cannot be read: the key is in the complainant's draft
    cookie. `status` moves once from "open" to "submitted", which is what makes a double
    submit create a single case.
    """

    __tablename__ = "intake_drafts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="open")
    answers: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The reference and passphrase, sealed under the draft key, until the receipt is shown.
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Days only, and the deadline rounded up to a midnight; the exact 24 hours are in
    # `clock`, sealed under the draft key (services/sealed_clocks.py).
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_day)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_day)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    clock: Mapped[bytes | None] = mapped_column(LargeBinary)

    documents: Mapped[list[DraftDocument]] = relationship(
        back_populates="draft", cascade="all, delete-orphan", order_by="DraftDocument.id"
    )


class DraftDocument(db.Model):  # type: ignore[name-defined,misc]
    """A file attached to a draft; its name (with its exact size) and contents are sealed
    under the draft key, and no size is kept in the clear (migration 0023)."""

    __tablename__ = "intake_draft_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[str] = mapped_column(
        ForeignKey("intake_drafts.id", ondelete="CASCADE"), index=True
    )
    sealed_name: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_content: Mapped[bytes] = mapped_column(LargeBinary)
    # What was removed before the file was sealed (a CleaningNote as JSON), sealed likewise.
    sealed_cleaning: Mapped[bytes | None] = mapped_column(LargeBinary)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_day)

    draft: Mapped[Draft] = relationship(back_populates="documents")


class CaseBreach(db.Model):  # type: ignore[name-defined,misc]
    """One Compact undertaking a complaint says was breached: identifiers only.

    The complainant's own words about it (a local clause, say) are in the sealed
    narrative, at the same position.
    """

    __tablename__ = "case_breaches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(40), index=True)
    paragraph_key: Mapped[str | None] = mapped_column(String(120))


class ComplainantSession(db.Model):  # type: ignore[name-defined,misc]
    """A signed-in complainant's passphrase-derived key, sealed under a cookie-only key."""

    __tablename__ = "complainant_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_day)
    # The midnight after the idle deadline, enough to purge the row; the exact idle and
    # longest deadlines are in `clock`, sealed under the cookie's key.
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    clock: Mapped[bytes | None] = mapped_column(LargeBinary)


class ApiIdempotencyKey(db.Model):  # type: ignore[name-defined,misc]
    """An `Idempotency-Key` the JSON API has filed a complaint under, for 24 hours.

    Only keyed hashes are kept: of the key (to find it again) and of the key with the
    request body (to tell a retry from a different complaint). Neither the key, the body
    nor the passphrase is stored, so a repeat can be told the reference but never the
    passphrase, and the database with the secret key cannot confirm a guessed body
    without the idempotency key itself.
    """

    __tablename__ = "api_idempotency_keys"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    # Set in the same transaction as the claim; a deleted case takes its key with it.
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    # The day, and the deadline rounded up to a midnight; the exact 24 hours are in
    # `clock`, sealed under a key only the idempotency key itself gives.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_day)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    clock: Mapped[bytes | None] = mapped_column(LargeBinary)
