"""Release periods: one closed calendar quarter or calendar year; nothing rolling or overlapping."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

QUARTER = "quarter"
YEAR = "year"

_QUARTER_PATTERN = re.compile(r"^(\d{4})[- ]?Q([1-4])$")
_YEAR_PATTERN = re.compile(r"^(\d{4})$")
_RANGE_MARKERS = ("..", "/", " TO ", "\N{EN DASH}", "\N{EM DASH}", "+", ",", ";")
_ROLLING_WORDS = ("LAST", "ROLLING", "PAST", "TRAILING", "MONTHS", "YTD", "TO DATE")
EARLIEST_YEAR = 2000

PERIOD_HINT = "Enter a period like 2026-Q3 for a calendar quarter or 2026 for a calendar year."


class PeriodRefused(ValueError):
    """A period a release may not cover; the message says why and what to enter instead."""


@dataclass(frozen=True, order=True)
class Period:
    """A calendar quarter (quarter 1-4) or a calendar year (quarter None)."""

    year: int
    quarter: int | None = None

    @property
    def kind(self) -> str:
        return YEAR if self.quarter is None else QUARTER

    @property
    def label(self) -> str:
        return str(self.year) if self.quarter is None else f"{self.year}-Q{self.quarter}"

    @property
    def start(self) -> date:
        return date(self.year, 1 if self.quarter is None else 3 * self.quarter - 2, 1)

    @property
    def end(self) -> date:
        """The last day of the period."""
        if self.quarter is None or self.quarter == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.quarter + 1, 1) - timedelta(days=1)

    def contains(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end

    def quarters(self) -> tuple[Period, ...]:
        """The quarters the period is made of (itself, for a quarter)."""
        if self.quarter is not None:
            return (self,)
        return tuple(Period(self.year, q) for q in (1, 2, 3, 4))

    def quarter_of(self, day: date) -> Period:
        return Period(day.year, (day.month - 1) // 3 + 1)

    @property
    def budget_year(self) -> int:
        """The calendar year whose privacy budget a release of this period spends."""
        return self.year

    def __str__(self) -> str:
        return self.label


def quarter_containing(day: date) -> Period:
    return Period(day.year, (day.month - 1) // 3 + 1)


def parse_period(text: str, today: date) -> Period:
    """Read "2026-Q3" or "2026"; refuse ranges, rolling windows, months and open periods."""
    raw = (text or "").strip().upper()
    if not raw:
        raise PeriodRefused(PERIOD_HINT)
    if any(marker in raw for marker in _RANGE_MARKERS) or any(
        word in raw for word in _ROLLING_WORDS
    ):
        raise PeriodRefused(
            f"{text.strip()!r} is a range or a rolling window. A release covers exactly one "
            "calendar quarter or one calendar year: overlapping figures could be subtracted "
            "from each other to reveal a handful of organisations. " + PERIOD_HINT
        )
    match = _QUARTER_PATTERN.match(raw)
    if match:
        period = Period(int(match.group(1)), int(match.group(2)))
    elif _YEAR_PATTERN.match(raw):
        period = Period(int(raw))
    elif re.match(r"^\d{4}-Q\d$", raw):
        raise PeriodRefused(f"A year has quarters Q1 to Q4 only. {PERIOD_HINT}")
    elif re.match(r"^\d{4}-(H[12]|\d{1,2})(-\d{1,2})?$", raw) or re.match(r"^\d{4}-W\d+$", raw):
        raise PeriodRefused(
            "Statistics are published by calendar quarter or calendar year, not by half-year, "
            f"month, week or day. {PERIOD_HINT}"
        )
    else:
        raise PeriodRefused(f"{text.strip()!r} is not a period. {PERIOD_HINT}")
    if period.year < EARLIEST_YEAR:
        raise PeriodRefused(f"There are no statistics before {EARLIEST_YEAR}.")
    if period.end >= today:
        raise PeriodRefused(
            f"{period.label} has not closed yet: it ends on {period.end.strftime('%-d %B %Y')}. "
            "A release can only cover a calendar quarter or year that has ended, so that its "
            "figures never change while it is still running."
        )
    return period


def period_from_label(label: str) -> Period:
    """The period a stored release label names ("2026-Q3" or "2026"), without checks."""
    year, _, quarter = label.partition("-Q")
    return Period(int(year), int(quarter) if quarter else None)
