"""Working days in England and Wales: weekends and bank holidays are skipped."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mediation.domain.calendar import add_working_days, is_working_day, working_days_between


def test_easter_and_weekends_are_skipped() -> None:
    # Thursday 17 April 2025; Good Friday 18 and Easter Monday 21 April are bank holidays.
    assert add_working_days(date(2025, 4, 17), 1) == date(2025, 4, 22)
    assert add_working_days(date(2025, 4, 14), 5) == date(2025, 4, 23)
    assert working_days_between(date(2025, 4, 17), date(2025, 4, 22)) == 1


def test_christmas_and_a_substitute_boxing_day_are_skipped() -> None:
    # 26 December 2026 is a Saturday: Monday 28 December is the substitute bank holiday.
    assert not is_working_day(date(2026, 12, 28))
    assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)


def test_a_deadline_from_a_friday_falls_on_the_next_friday() -> None:
    assert add_working_days(date(2025, 6, 6), 5) == date(2025, 6, 13)
    assert add_working_days(date(2025, 6, 6), 0) == date(2025, 6, 6)


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=-40, max_value=40),
)
def test_counting_undoes_adding(start: date, n: int) -> None:
    end = add_working_days(start, n)
    assert working_days_between(start, end) == n
    assert n == 0 or is_working_day(end)


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=0, max_value=60),
)
def test_working_days_never_exceed_calendar_days(start: date, days: int) -> None:
    end = start + timedelta(days=days)
    assert 0 <= working_days_between(start, end) <= days
    assert -days <= working_days_between(end, start) <= 0
