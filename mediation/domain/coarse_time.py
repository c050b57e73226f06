"""How coarsely a complainant's acts are timed: the UTC day, and deadlines rounded up to one.

A complainant-originated row (a draft, a session, an idempotency key, an audit entry of
their act, the email it causes) keeps no time finer than its UTC day, so that someone
holding the database cannot match it to a moment. Where the service needs an exact
deadline (a session idles out after 30 minutes), the stored one is rounded up to the next
UTC midnight, and the exact one is sealed under a key only the complainant's side holds
(services/sealed_clocks.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

ONE_DAY = timedelta(days=1)


def day_start(moment: datetime) -> datetime:
    """Midnight UTC of the day `moment` falls on (aware)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def day_end(moment: datetime) -> datetime:
    """The first UTC midnight at or after `moment`: a deadline rounded up to a whole day."""
    start = day_start(moment)
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return start if aware == start else start + ONE_DAY


# The outbox's delivery grid --------------------------------------------------------------
#
# An email a complainant's act causes is due at a grid boundary drawn at random among the
# first `slots` boundaries at or after act + earliest. Every act then has the same chance,
# 1/slots, of landing on any one boundary N it can reach, and exactly the acts in the
# `slots * grid` up to N - earliest can reach it: whoever reads N (the database, or a
# recipient from the arrival) learns only that the act fell in (N - earliest - slots *
# grid, N - earliest], all of it equally likely, and nothing finer
# (tests/domain/test_coarse_time.py).

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def grid_floor(moment: datetime, grid: timedelta) -> datetime:
    """The last `grid` boundary (counted from midnight UTC) at or before `moment`."""
    aware = _aware(moment)
    return aware - (aware - EPOCH) % grid


def grid_ceil(moment: datetime, grid: timedelta) -> datetime:
    """The first `grid` boundary at or after `moment`."""
    floor = grid_floor(moment, grid)
    return floor if floor == _aware(moment) else floor + grid


def delivery_slots(earliest: timedelta, latest: timedelta, grid: timedelta) -> int:
    """How many boundaries an act's email may be drawn among, so that none is due later
    than `latest` after the act (at least one)."""
    return max(1, (latest - earliest) // grid)


def delivery_slot(act: datetime, *, earliest: timedelta, grid: timedelta, slot: int) -> datetime:
    """The `slot`-th (from 0) grid boundary at or after act + earliest: at least
    earliest + slot * grid after the act, and less than earliest + (slot + 1) * grid."""
    return grid_ceil(act + earliest, grid) + grid * slot
