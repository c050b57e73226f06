"""Statistics releases: immutable, checksummed, with the privacy budget spent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mediation.extensions import db
from mediation.models.time import utcnow


class StatisticsRelease(db.Model):  # type: ignore[name-defined,misc]
    """One published version of the statistics for a calendar quarter or year.

    Never changed once written (database triggers refuse UPDATE and DELETE): a correction
    is a new row with the next version number, a note and `supersedes_id` set. `content` is
    the canonical JSON the SHA-256 is taken over, so anyone can check the figures served.
    """

    __tablename__ = "statistics_releases"
    __table_args__ = (UniqueConstraint("period", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Public identifier, e.g. "2026-Q3-v2": readable, and stable across databases.
    release_id: Mapped[str] = mapped_column(String(24), unique=True)
    period: Mapped[str] = mapped_column(String(10), index=True)
    period_kind: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("statistics_releases.id"))
    note: Mapped[str | None] = mapped_column(Text)
    published_on: Mapped[date] = mapped_column(Date)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    # Over the opened inputs, in case order: shows two releases were computed on the same data.
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    # Differential privacy: the epsilon this release spent from its year's budget, if any.
    budget_year: Mapped[int] = mapped_column(Integer, index=True)
    epsilon: Mapped[float | None] = mapped_column(Float)


class StatisticsReleaseCounts(db.Model):  # type: ignore[name-defined,misc]
    """How many organisations each cell of a release counted (published or hidden), as
    canonical JSON sealed under the symmetric statistics key `key_id`: what the revisions
    policy compares a later release with (mediation/domain/statistics_revisions.py).

    Beside the release rather than in it: the release row is never changed, but these are
    re-sealed when the statistics keys are rotated, so that a custodian appointed after a
    rotation can open them. A release published before they were kept has none."""

    __tablename__ = "statistics_release_counts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("statistics_releases.id"), unique=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))
