"""Release periods, the cell-key perturbation and differential privacy's budget."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediation.domain.cell_key import DEFAULT_PTABLE, KEY_SPACE, cell_key
from mediation.domain.differential_privacy import (
    PrivacyBudgetExceeded,
    check_budget,
    opendp_discrete_laplace,
    plan_noise,
)
from mediation.domain.disclosure_control import compute_release
from mediation.domain.statistics_periods import Period, PeriodRefused, parse_period
from mediation.domain.statistics_tables import build_grid
from tests.statistics.conftest import SMALL_DIMS, YEAR, case_lists

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-Q3", Period(2026, 3)),
        ("2026q1", Period(2026, 1)),
        (" 2025 ", Period(2025)),
        ("2025 Q4", Period(2025, 4)),
    ],
)
def test_closed_calendar_quarters_and_years_are_accepted(text: str, expected: Period) -> None:
    assert parse_period(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-Q4", "has not closed yet"),
        ("2026", "has not closed yet"),
        ("2026-Q2..2026-Q3", "range or a rolling window"),
        ("2025-07/2026-06", "range or a rolling window"),
        ("last 12 months", "range or a rolling window"),
        ("rolling-2026", "range or a rolling window"),
        ("2025-Q5", "quarters Q1 to Q4"),
        ("2025-07", "not by half-year, month"),
        ("2025-H1", "not by half-year, month"),
        ("2025-03-31", "not by half-year, month"),
        ("", "Enter a period"),
        ("next year", "is not a period"),
        ("1999", "no statistics before"),
    ],
)
def test_bad_periods_are_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(PeriodRefused) as refused:
        parse_period(text, TODAY)
    assert message in str(refused.value)
    assert (
        "2026-Q3" in str(refused.value)
        or "not closed" in str(refused.value)
        or ("before" in str(refused.value))
    )


def test_a_quarter_is_closed_the_day_after_it_ends() -> None:
    with pytest.raises(PeriodRefused):
        parse_period("2026-Q3", date(2026, 9, 30))
    assert parse_period("2026-Q3", date(2026, 10, 1)) == Period(2026, 3)


def test_the_ptable_is_unbiased_and_never_moves_a_figure_by_more_than_2() -> None:
    assert DEFAULT_PTABLE.largest_adjustment == 2
    for count in (10, 11, 57, 1000):
        assert DEFAULT_PTABLE.mean_adjustment(count) == 0
    seen = {DEFAULT_PTABLE.adjustment(20, key) for key in range(KEY_SPACE)}
    assert seen == {-2, -1, 0, 1, 2}


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=30))
def test_the_cell_key_depends_only_on_which_organisations_are_in_the_cell(keys: list[int]) -> None:
    assert cell_key(sum(keys)) == cell_key(sum(reversed(keys)))
    assert 0 <= cell_key(sum(keys)) < KEY_SPACE


@settings(max_examples=40, deadline=None)
@given(cases=case_lists())
def test_a_figure_shared_by_a_quarterly_and_a_yearly_release_gets_the_same_value(
    cases: list,  # type: ignore[type-arg]
) -> None:
    """Same organisations, same cell key, same perturbation: repeating a figure in another
    release gives nothing to average."""
    year = compute_release(cases, Period(YEAR), SMALL_DIMS)
    for quarter in (1, 2, 3, 4):
        quarterly = compute_release(cases, Period(YEAR, quarter), SMALL_DIMS)
        for row in quarterly.tables[0]["rows"]:
            same = next(
                r
                for r in year.tables[0]["rows"]
                if r["quarter"] == row["quarter"] and r["measure"] == row["measure"]
            )
            if row["count"] is not None and same["count"] is not None:
                assert row["count"] == same["count"]


def test_opendp_noise_spends_the_epsilon_its_privacy_map_certifies() -> None:
    sensitivity = len(build_grid(Period(YEAR), SMALL_DIMS).national_cells())
    assert sensitivity == 10
    plan = plan_noise(0.5, sensitivity)
    assert plan.scale == pytest.approx(20.0)
    assert plan.epsilon == pytest.approx(0.5, rel=1e-6)
    noisy = opendp_discrete_laplace([100, 200, 300], plan.scale)
    assert len(noisy) == 3 and all(isinstance(v, int) for v in noisy)
    with pytest.raises(ValueError):
        plan_noise(0, sensitivity)


def test_the_privacy_budget_refuses_a_release_that_would_overspend_it() -> None:
    check_budget(2025, spent=2.5, requested=0.5, budget=3.0)
    with pytest.raises(PrivacyBudgetExceeded) as refused:
        check_budget(2025, spent=2.75, requested=0.5, budget=3.0)
    assert "only 0.25 of 3.00 is left" in str(refused.value)


def test_noisy_national_figures_are_still_multiples_of_5_of_at_least_10() -> None:
    from tests.statistics.test_attacks import region_population

    cases = region_population(north_east=4, not_recorded=20)

    def wild(counts, scale):  # type: ignore[no-untyped-def]
        return [c - 50 if i % 2 else c + 7 for i, c in enumerate(counts)]

    plan = plan_noise(1.0, 10)
    release = compute_release(cases, Period(YEAR), SMALL_DIMS, noise_plan=plan, noise_source=wild)
    assert release.epsilon == pytest.approx(1.0)
    for table in release.tables:
        for row in table["rows"]:
            assert row["count"] is None or (row["count"] % 5 == 0 and row["count"] >= 10)
