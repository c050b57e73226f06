"""Working days in England and Wales: weekends and bank holidays (the `holidays` package)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    # England's list is England and Wales's: the two share every bank holiday.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: date, n: int) -> date:
    """The date `n` working days after `start` (before it when `n` is negative).

    `start` itself is not counted, so a 5-working-day deadline from a Friday falls on the
    next Friday, and `add_working_days(d, 0)` is `d`.
    """
    step = 1 if n >= 0 else -1
    day = start
    remaining = abs(n)
    while remaining:
        day += timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    """Working days after `a` up to and including `b`; when `b` is before `a`, minus the
    working days from `b` up to (not including) `a`.

    The inverse of `add_working_days`: `working_days_between(d, add_working_days(d, n)) == n`.
    """
    if b < a:
        return -sum(1 for k in range((a - b).days) if is_working_day(b + timedelta(days=k)))
    return sum(1 for k in range(1, (b - a).days + 1) if is_working_day(a + timedelta(days=k)))
