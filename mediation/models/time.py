"""Timestamps: always stored and compared as UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from mediation.domain.coarse_time import day_start


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Normalise a value read back from either engine to aware UTC (SQLite returns naive)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utc_day() -> datetime:
    """Midnight UTC today: the time a complainant-originated row keeps (G11)."""
    return day_start(utcnow())
