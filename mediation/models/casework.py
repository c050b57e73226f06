"""Casework: triage, the panel's routing, clocks, disclosure statements, sessions and outcomes.

Sealed columns hold HPKE envelopes to the case key (or to one mediator's key) and are
re-sealed on rotation and destroyed at the end of retention like the case's own fields.
Readable text columns hold only what is meant for the public body (the approved
statement, what the body wrote, what staff wrote to it), so they are cleared at retention.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mediation.extensions import db
from mediation.models.time import utc_day


class CaseClock(db.Model):  # type: ignore[name-defined,misc]
    """One service-standard deadline of a case (see domain.clocks)."""

    __tablename__ = "case_clocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    started_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    paused_on: Mapped[date | None] = mapped_column(Date)
    met_on: Mapped[date | None] = mapped_column(Date)
    stopped_on: Mapped[date | None] = mapped_column(Date)


class TriageRecord(db.Model):  # type: ignore[name-defined,misc]
    """A case officer's assessment: breach categories, the body confirmed, language.

    `version` counts the saves: the assessment form carries the version it was read at,
    and every UPDATE is made `WHERE version = <the one read>` (SQLAlchemy's version
    counter), so of two officers saving at once the second is refused, not overwritten.
    """

    __tablename__ = "triage_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    body_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    # A language for mediation other than English, if the complainant asked for one.
    language: Mapped[str | None] = mapped_column(String(10))
    triaged_on: Mapped[date] = mapped_column(Date)
    triaged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class CaseLink(db.Model):  # type: ignore[name-defined,misc]
    """Two cases linked by a case officer, e.g. a duplicate and the case it repeats."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "linked_case_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    linked_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    linked_on: Mapped[date] = mapped_column(Date)


class MediatorOffer(db.Model):  # type: ignore[name-defined,misc]
    """A case offered to one mediator: anonymised summary first, the case file on yes.

    The case private key is sealed to the mediator when the case is offered, but kept here
    rather than among the case's grants, and moved to a grant only once the mediator has
    seen the names and declared no conflict; it is destroyed if they decline.
    """

    __tablename__ = "mediator_offers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    offered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # offered -> accepted (names shown) -> confirmed (no conflict) | declined | withdrawn
    # | cancelled
    status: Mapped[str] = mapped_column(String(20), default="offered", index=True)
    offered_on: Mapped[date] = mapped_column(Date)
    answered_on: Mapped[date | None] = mapped_column(Date)
    # The case officer's anonymised summary, sealed to the mediator's own key.
    summary: Mapped[bytes | None] = mapped_column(LargeBinary)
    pending_case_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    holder_key_id: Mapped[str | None] = mapped_column(String(32))


class AgreementToMediate(db.Model):  # type: ignore[name-defined,misc]
    """The public body's answer to the offer of mediation, and both parties' signatures."""

    __tablename__ = "agreements_to_mediate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    respondent_answer: Mapped[str | None] = mapped_column(String(12))  # agreed / declined
    respondent_answered_on: Mapped[date | None] = mapped_column(Date)
    complainant_signed_on: Mapped[date | None] = mapped_column(Date)
    respondent_signed_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class CaseNote(db.Model):  # type: ignore[name-defined,misc]
    """A mediator's or case officer's working note, sealed to the case key."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    written_on: Mapped[date] = mapped_column(Date)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)


# A session not cancelled with a party's papers still to come. The case queue looks among
# these, by the day they are held, for the coming sessions whose papers are late, rather
# than through every session ever held (whose papers were all due before today).
WAITING_FOR_PAPERS = {
    "sqlite": "cancelled IS 0 AND (complainant_papers_on IS NULL OR respondent_papers_on IS NULL)",
    "postgresql": (
        "cancelled IS false AND (complainant_papers_on IS NULL OR respondent_papers_on IS NULL)"
    ),
}


class MediationSession(db.Model):  # type: ignore[name-defined,misc]
    """A mediation meeting: the day, part of the day, where, and when papers are due."""

    __tablename__ = "mediation_sessions"
    __table_args__ = (
        Index(
            "ix_mediation_sessions_waiting",
            "held_on",
            "papers_due_on",
            "case_id",
            sqlite_where=text(WAITING_FOR_PAPERS["sqlite"]),
            postgresql_where=text(WAITING_FOR_PAPERS["postgresql"]),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    part_of_day: Mapped[str] = mapped_column(String(12))  # morning / afternoon / all_day
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    # Meant for both parties (they have to get there), so readable.
    place: Mapped[str | None] = mapped_column(String(200))
    papers_due_on: Mapped[date] = mapped_column(Date, index=True)
    complainant_papers_on: Mapped[date | None] = mapped_column(Date)
    respondent_papers_on: Mapped[date | None] = mapped_column(Date)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class DisclosureStatement(db.Model):  # type: ignore[name-defined,misc]
    """What the public body is told about the complaint, in the complainant's approved words.

    The draft is sealed to the case key; only an approved version is readable, because it
    is meant for the public body. Each revision is a new row; approving one supersedes the
    last approved.
    """

    __tablename__ = "disclosure_statements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # draft -> awaiting_approval -> approved | changes_requested; approved -> superseded
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    drafted_on: Mapped[date] = mapped_column(Date)
    sent_on: Mapped[date | None] = mapped_column(Date)
    decided_on: Mapped[date | None] = mapped_column(Date)
    draft: Mapped[bytes | None] = mapped_column(LargeBinary)
    change_request: Mapped[bytes | None] = mapped_column(LargeBinary)
    approved_text: Mapped[str | None] = mapped_column(Text)


class RespondentMessage(db.Model):  # type: ignore[name-defined,misc]
    """Correspondence with the public body, readable: what it wrote, or what was written
    to it. A message "to both" also has a sealed copy among the case's messages."""

    __tablename__ = "respondent_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # message / reply / proposal
    audience: Mapped[str] = mapped_column(String(20))  # respondent / both / service
    author_kind: Mapped[str] = mapped_column(String(20))  # staff role of the writer
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    sent_on: Mapped[date] = mapped_column(Date)
    body: Mapped[str | None] = mapped_column(Text)


class Outcome(db.Model):  # type: ignore[name-defined,misc]
    """The standardised outcome of COMPACT.md: result, remedies, sought against achieved."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    result: Mapped[str] = mapped_column(String(40))
    # [{"id": "payment", "amount": 1200}, {"id": "apology_or_explanation"}]
    remedies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sought: Mapped[list[str]] = mapped_column(JSON, default=list)
    relationship_before: Mapped[int | None] = mapped_column(Integer)
    relationship_after: Mapped[int | None] = mapped_column(Integer)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    recorded_on: Mapped[date] = mapped_column(Date)


class SatisfactionResponse(db.Model):  # type: ignore[name-defined,misc]
    """One party's answer to the short survey at the end of a case (numbers only)."""

    __tablename__ = "satisfaction_responses"
    __table_args__ = (UniqueConstraint("case_id", "party"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    party: Mapped[str] = mapped_column(String(20))  # complainant / respondent
    satisfaction: Mapped[int] = mapped_column(Integer)  # 1 (very dissatisfied) to 5
    fairness: Mapped[int] = mapped_column(Integer)  # 1 to 5: was the process fair
    relationship: Mapped[int] = mapped_column(Integer)  # 1 to 5: the relationship now
    would_use_again: Mapped[bool] = mapped_column(Boolean)
    answered_on: Mapped[date] = mapped_column(Date)


class FundingCheck(db.Model):  # type: ignore[name-defined,misc]
    """A retaliation check: is the complainant still funded N months after closure?"""

    __tablename__ = "funding_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    months: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # / done / cancelled
    # continued / reduced / ended / not_applicable
    finding: Mapped[str | None] = mapped_column(String(20))
    adverse: Mapped[bool | None] = mapped_column(Boolean)
    checked_on: Mapped[date | None] = mapped_column(Date)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class Notification(db.Model):  # type: ignore[name-defined,misc]
    """An email waiting to go (the outbox). Holds no case content and no address: staff
    addresses are looked up when sending, a complainant's is opened from the sealed
    identity in a custodian's session."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The day only: a row queued by a complainant's act must not time it (G11).
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_day)
    # Not sent before this: for a complainant's act, one random quarter-hour boundary
    # 5 to 65 minutes after it, shared by all its emails, so that no email a public body
    # (or anyone) receives is timed by it and the stored value says only the hour (see
    # domain.coarse_time); none for staff acts. Pushed back, to the grid, after a failed
    # attempt. `sent_at` below is kept to the quarter hour too.
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(20))  # staff / complainant
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(40))
    link_path: Mapped[str] = mapped_column(String(200))
    # pending -> sent | skipped (no address or no consent) | failed (after retries)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
