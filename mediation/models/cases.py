"""Cases and their sealed contents: nothing here is readable without a key from the vault."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.extensions import db
from mediation.models.time import utcnow

# A case in these states is out of the case officers' queue (unless a funding check is due).
DONE_STATES = ("closed", "draft")
# A case in the queue, as its index states it (and the queue's statements, word for word).
LIVE_CASE = "keys_destroyed_on IS NULL AND state NOT IN ('closed', 'draft')"
# A case whose keys the retention purge has not destroyed.
HAS_KEYS = "keys_destroyed_on IS NULL"
# A case with keys and a funding check to do, due or not.
CHECK_TO_DO = "keys_destroyed_on IS NULL AND funding_check_due_on IS NOT NULL"


class Case(db.Model):  # type: ignore[name-defined,misc]
    """One complaint. Sensitive fields are HPKE envelopes sealed to the case's public keys."""

    __tablename__ = "cases"
    # The case officers' queue reads nothing of a case but these indexes: the live cases
    # in the queue's order (urgent, nearest deadline, id), and the cases with keys and a
    # funding check to do by its date (closed cases stay in the queue while one is due).
    __table_args__ = (
        Index(
            "ix_cases_queue",
            "urgent",
            "next_deadline_on",
            "id",
            "state",
            "keys_destroyed_on",
            "funding_check_due_on",
            sqlite_where=text(LIVE_CASE),
            postgresql_where=text(LIVE_CASE),
        ),
        Index(
            "ix_cases_queue_funding_checks",
            "funding_check_due_on",
            "keys_destroyed_on",
            "state",
            "urgent",
            "next_deadline_on",
            "id",  # so the queue reads these cases from the index alone
            sqlite_where=text(CHECK_TO_DO),
            postgresql_where=text(CHECK_TO_DO),
        ),
        # A mediator's cases, newest first, and a public body's: each reads its own cases
        # among those with keys, not every case the service ever had.
        Index(
            "ix_cases_mediator",
            "mediator_id",
            "submitted_on",
            sqlite_where=text(HAS_KEYS),
            postgresql_where=text(HAS_KEYS),
        ),
        Index(
            "ix_cases_respondent_body",
            "respondent_body_id",
            sqlite_where=text(HAS_KEYS),
            postgresql_where=text(HAS_KEYS),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    openness: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(30), default="submitted", index=True)
    state_before_hold: Mapped[str | None] = mapped_column(String(30))
    # Set when the complainant reports adverse treatment since complaining.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    respondent_body_id: Mapped[int | None] = mapped_column(ForeignKey("respondent_bodies.id"))
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # Dates only, never a time of day: a respondent must not match a filing to a moment.
    submitted_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    keys_destroyed_on: Mapped[date | None] = mapped_column(Date)
    # Random, fixed at creation: the statistics cell-key method perturbs by it.
    record_key: Mapped[int] = mapped_column(Integer)
    # Copies for the case officers' queue, which orders and counts thousands of cases and
    # so must not visit their clocks or checks: the nearest deadline of a running clock
    # (none while on hold) and which clock's it is, and the earliest funding check still
    # to do. Kept exact at every flush by services/case_clocks.py; set nowhere else.
    next_deadline_on: Mapped[date | None] = mapped_column(Date)
    next_deadline_kind: Mapped[str | None] = mapped_column(String(30))
    funding_check_due_on: Mapped[date | None] = mapped_column(Date)

    suite: Mapped[str] = mapped_column(String(32))
    case_public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    case_key_id: Mapped[str | None] = mapped_column(String(32))
    identity_public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    identity_key_id: Mapped[str | None] = mapped_column(String(32))
    # The complainant's key pair is re-derived from the passphrase with this salt.
    complainant_salt: Mapped[bytes] = mapped_column(LargeBinary)
    # Kept apart from `suite`: rotation can move the case keys to a new suite, but the
    # complainant's key is re-derived from the passphrase in the suite it was made in.
    complainant_suite: Mapped[str] = mapped_column(String(32))
    complainant_public_key: Mapped[bytes] = mapped_column(LargeBinary)
    complainant_key_id: Mapped[str] = mapped_column(String(32))
    complainant_kdf: Mapped[dict[str, Any]] = mapped_column(JSON)

    narrative: Mapped[bytes | None] = mapped_column(LargeBinary)
    identity: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The complainant's own copy of what they told us, sealed to their passphrase key.
    identity_copy: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Set only when the complainant chose "open": shared with the respondent by their act.
    shared_identity: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    grants: Mapped[list[SealedKey]] = relationship(
        back_populates="case", cascade="all, delete-orphan"
    )


class SealedKey(db.Model):  # type: ignore[name-defined,misc]
    """A case or identity private key sealed to one holder's public key."""

    __tablename__ = "sealed_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    key_kind: Mapped[str] = mapped_column(String(10))  # "case" or "identity"
    holder_kind: Mapped[str] = mapped_column(String(12))  # "staff" or "complainant"
    holder_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    holder_key_id: Mapped[str] = mapped_column(String(32), index=True)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)

    case: Mapped[Case] = relationship(back_populates="grants")


class CaseMessage(db.Model):  # type: ignore[name-defined,misc]
    """A message on a case, sealed to the case key; `audience` says who it is meant for."""

    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_kind: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    audience: Mapped[str] = mapped_column(String(20), default="complainant")
    sent_on: Mapped[date] = mapped_column(Date)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)


class CaseReason(db.Model):  # type: ignore[name-defined,misc]
    """A staff reason given in the audit log, sealed to the case key.

    The audit entry, which is hash-chained and never rewritten, holds only this row's id and
    a salted commitment to the text; the envelope lives here so that key rotation can
    re-seal it and the retention purge can destroy it.
    """

    __tablename__ = "case_reasons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    envelope: Mapped[bytes | None] = mapped_column(LargeBinary)


class CaseDocument(db.Model):  # type: ignore[name-defined,misc]
    """An uploaded document: both its name and its contents are sealed."""

    __tablename__ = "case_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(20))
    uploaded_on: Mapped[date] = mapped_column(Date)
    name: Mapped[bytes | None] = mapped_column(LargeBinary)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    # What was removed from the file before it was sealed, or why it was kept as sent
    # (domain.document_cleaning.CleaningNote as JSON), sealed like the name. NULL for a
    # file added before documents were cleaned, and for the public body's own files.
    cleaning: Mapped[bytes | None] = mapped_column(LargeBinary)


class IdentityRequest(db.Model):  # type: ignore[name-defined,misc]
    """A mediator's request, with a reason, to see a complainant's identity."""

    __tablename__ = "identity_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    decisions: Mapped[list[IdentityDecision]] = relationship(
        back_populates="request", cascade="all, delete-orphan"
    )


class IdentityDecision(db.Model):  # type: ignore[name-defined,misc]
    """One case officer's approval or refusal of an identity request."""

    __tablename__ = "identity_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("identity_requests.id", ondelete="CASCADE"), index=True
    )
    officer_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    approved: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    request: Mapped[IdentityRequest] = relationship(back_populates="decisions")


class CaseEvent(db.Model):  # type: ignore[name-defined,misc]
    """One step of a case's workflow, for its timeline. Never holds case content."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    occurred_on: Mapped[date] = mapped_column(Date)
    # Structured, non-sensitive fields of the action (a reason code, a result id).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# The tables the case officers' queue reads (`services.queue_statement`): a write to any of
# them changes `QueueVersion` and notes the case it touched in `QueueChange`, through
# triggers (migrations 0020 and 0021).
QUEUE_TABLES = (
    "cases",
    "case_breaches",
    "mediation_sessions",
    "respondent_bodies",
    "triage_records",
)


class QueueVersion(db.Model):  # type: ignore[name-defined,misc]
    """One row: which state of the queue's tables the database holds. Every committed
    INSERT, UPDATE or DELETE on them adds one to `version`, by trigger (on PostgreSQL at
    commit, once a transaction, so that the row is the last thing a writer locks); `token`
    is drawn when the row is made, so that two databases made apart never share a (token,
    version). A copy, or a backup restored by hand, keeps both: restart the workers after
    it (`flask backup restore` draws a new token, so that workers need not restart). A
    queue page read at one (token, version) is the same page until either changes
    (`services.queue_cache`)."""

    __tablename__ = "queue_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    # The one case the latest version's writes touched; None when they touched none (a
    # public body) or several (migration 0021).
    only_case: Mapped[int | None] = mapped_column(Integer)


# How many versions' notes `queue_changes` keeps (migration 0021's KEEP).
QUEUE_CHANGES_KEPT = 10000


class QueueChange(db.Model):  # type: ignore[name-defined,misc]
    """A case that a write to one of the queue's tables touched, and the queue version the
    write moved the queue to (by trigger, with the version); no case (NULL) for a write to
    a public body, which every case against it may show. The notes of the last
    `QUEUE_CHANGES_KEPT` versions are kept, so that a worker holding the queue reads again
    only the cases written since (`services.queue_replica`)."""

    __tablename__ = "queue_changes"
    __table_args__ = (Index("ix_queue_changes_version", "version", "case_id"),)

    # One for every row written to the queue's tables, never reused: 64 bits on PostgreSQL
    # (SQLite's INTEGER PRIMARY KEY is 64 bits already).
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    case_id: Mapped[int | None] = mapped_column(Integer)
