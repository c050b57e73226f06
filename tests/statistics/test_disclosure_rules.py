"""Property-based proofs of every disclosure-control rule, over random case data."""

from __future__ import annotations

import json
import random
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediation.domain.complementary_suppression import (
    complementary_suppression,
    exposed_cells,
    lines_with_single_suppression,
)
from mediation.domain.disclosure_control import (
    PERCENTAGE_MIN_DENOMINATOR,
    THRESHOLD,
    compute_release,
    median_days,
    percentage,
    round_to_base,
)
from mediation.domain.statistics_periods import Period
from mediation.domain.statistics_tables import CaseStatistics, Line, build_grid
from tests.statistics.conftest import SMALL_DIMS, YEAR, case_lists, reference_cells, row_cell

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PERIODS = st.sampled_from([Period(YEAR), Period(YEAR, 1), Period(YEAR, 3)])


def published_cells(cases: list[CaseStatistics], period: Period) -> dict[str, int | None]:
    release = compute_release(cases, period, SMALL_DIMS)
    cells: dict[str, int | None] = {}
    for table in release.tables:
        for row in table["rows"]:
            cell = row_cell(str(table["name"]), row, period)
            assert row["suppressed"] is (row["count"] is None)
            # A cell shared by several tables is published with one value everywhere.
            assert cells.get(cell, row["count"]) == row["count"]
            cells[cell] = row["count"]
    return cells


@PROPERTY
@given(cases=case_lists(), period=PERIODS)
def test_every_published_count_is_null_or_a_multiple_of_5_of_at_least_10_organisations(
    cases: list[CaseStatistics], period: Period
) -> None:
    truth = reference_cells(cases, period)
    for cell, value in published_cells(cases, period).items():
        if value is None:
            continue
        organisations = len(truth[cell][0]) if cell in truth else 0
        assert value % 5 == 0 and value >= THRESHOLD
        assert organisations >= THRESHOLD, (cell, organisations, value)
        # Perturbation (at most 2) and rounding (at most 2) keep it near the truth.
        assert abs(value - organisations) <= 4


@PROPERTY
@given(cases=case_lists(), period=PERIODS)
def test_counts_are_of_distinct_organisations_not_cases(
    cases: list[CaseStatistics], period: Period
) -> None:
    from mediation.domain.disclosure_control import tally

    grid = build_grid(period, SMALL_DIMS)
    counted = tally(cases, grid, SMALL_DIMS)
    truth = reference_cells(cases, period)
    for index, cell in enumerate(grid.cell_ids):
        units, bodies = truth.get(cell, (set(), {}))
        assert counted.counts[index] == len(units), cell
        assert counted.top_body[index] == max((len(u) for u in bodies.values()), default=0)


@PROPERTY
@given(cases=case_lists(), period=PERIODS)
def test_no_line_has_a_single_suppressed_cell_and_none_can_be_recovered(
    cases: list[CaseStatistics], period: Period
) -> None:
    grid = build_grid(period, SMALL_DIMS)
    values = published_cells(cases, period)
    hidden = {grid.index[cell] for cell, value in values.items() if value is None}
    assert lines_with_single_suppression(grid.lines, hidden) == []
    # Nor by any chain of additions and subtractions of rows, columns and totals.
    assert exposed_cells(grid.lines, hidden) == set()


@PROPERTY
@given(cases=case_lists(), period=PERIODS)
def test_no_published_cell_is_dominated_by_one_respondent_body(
    cases: list[CaseStatistics], period: Period
) -> None:
    truth = reference_cells(cases, period)
    for cell, value in published_cells(cases, period).items():
        if value is None:
            continue
        units, bodies = truth[cell]
        largest = max((len(u) for u in bodies.values()), default=0)
        assert 2 * largest <= len(units), (cell, largest, len(units))


@PROPERTY
@given(cases=case_lists(), period=PERIODS, seed=st.integers(0, 1000))
def test_the_same_data_gives_byte_for_byte_the_same_release(
    cases: list[CaseStatistics], period: Period, seed: int
) -> None:
    shuffled = list(cases)
    random.Random(seed).shuffle(shuffled)
    first = compute_release(cases, period, SMALL_DIMS).content()
    second = compute_release(shuffled, period, SMALL_DIMS).content()
    as_bytes = [
        json.dumps(c, sort_keys=True, separators=(",", ":")).encode() for c in (first, second)
    ]
    assert as_bytes[0] == as_bytes[1]


@settings(max_examples=300, deadline=None)
@given(part=st.none() | st.integers(0, 2000), whole=st.none() | st.integers(0, 2000))
def test_percentages_only_from_published_counts_over_at_least_20(
    part: int | None, whole: int | None
) -> None:
    result = percentage(part, whole)
    if part is None or whole is None or whole < PERCENTAGE_MIN_DENOMINATOR or part > whole:
        assert result is None
    else:
        assert result is not None and 0 <= result <= 100
        assert abs(result - 100 * part / whole) <= 0.5


@settings(max_examples=200, deadline=None)
@given(durations=st.lists(st.integers(0, 900), max_size=40), organisations=st.integers(0, 40))
def test_a_median_is_given_only_over_at_least_10_organisations(
    durations: list[int], organisations: int
) -> None:
    result = median_days(sorted(durations), organisations)
    if organisations < 10 or len(durations) < 10:
        assert result is None
    else:
        assert result is not None and min(durations) <= result <= max(durations)


@settings(max_examples=200, deadline=None)
@given(value=st.integers(-10, 10_000))
def test_rounding_is_to_the_nearest_5(value: int) -> None:
    rounded = round_to_base(value)
    assert rounded % 5 == 0 and abs(rounded - value) <= 2


@st.composite
def two_way_tables(draw: st.DrawFn) -> tuple[list[Line], list[int]]:
    """A table with row and column margins and a grand total, as cells and lines."""
    rows, columns = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    inner = [[draw(st.integers(0, 40)) for _ in range(columns)] for _ in range(rows)]
    counts = [v for row in inner for v in row]
    row_totals = list(range(len(counts), len(counts) + rows))
    counts += [sum(row) for row in inner]
    column_totals = list(range(len(counts), len(counts) + columns))
    counts += [sum(inner[r][c] for r in range(rows)) for c in range(columns)]
    grand = len(counts)
    counts.append(sum(counts[t] for t in row_totals))
    lines = [
        Line(tuple(r * columns + c for c in range(columns)), row_totals[r]) for r in range(rows)
    ]
    lines += [
        Line(tuple(r * columns + c for r in range(rows)), column_totals[c]) for c in range(columns)
    ]
    lines += [Line(tuple(row_totals), grand), Line(tuple(column_totals), grand)]
    return lines, counts


@settings(max_examples=300, deadline=None)
@given(table=two_way_tables())
def test_complementary_suppression_leaves_no_cell_recoverable_in_any_two_way_table(
    table: tuple[list[Line], list[int]],
) -> None:
    lines, counts = table
    primary = {i for i, v in enumerate(counts) if v < THRESHOLD}
    hidden = complementary_suppression(lines, counts, primary)
    assert primary <= hidden
    assert lines_with_single_suppression(lines, hidden) == []
    assert exposed_cells(lines, hidden) == set()


def test_a_bridge_between_suppressions_is_caught_even_when_every_line_has_two() -> None:
    """Cells hidden so that every line has two can still be worked out: two hidden 2x2
    blocks joined by one hidden cell. Adding rows 0 and 1 and subtracting columns 0 and 1
    leaves that cell alone. The exact check finds it; the algorithm then hides more."""
    size = 4
    lines = [Line(tuple(r * size + c for c in range(size)), 16 + r) for r in range(size)]
    lines += [Line(tuple(r * size + c for r in range(size)), 20 + c) for c in range(size)]
    blocks = {0, 1, 4, 5, 10, 11, 14, 15}
    assert exposed_cells(lines, blocks) == set()
    bridged = blocks | {6}
    assert lines_with_single_suppression(lines, bridged) == []
    assert exposed_cells(lines, bridged) == {6}
    counts = [3, 4, 20, 20, 5, 6, 7, 20, 20, 20, 8, 9, 20, 20, 2, 1] + [0] * 8
    hidden = complementary_suppression(lines, counts, bridged)
    assert bridged <= hidden and exposed_cells(lines, hidden) == set()


def test_periods_in_a_release_are_labelled_by_quarter_and_year() -> None:
    release = compute_release([], Period(YEAR), SMALL_DIMS)
    national = release.tables[0]
    quarters = [row["quarter"] for row in national["rows"] if row["measure"] == "received"]
    assert quarters == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "all"]
    assert [t["name"] for t in release.tables] == [
        "national_by_quarter",
        "region_by_year",
        "body_type_by_year",
        "category_outcome_by_year",
        "resolution_time_by_year",
    ]
    quarterly = compute_release([], Period(YEAR, 2), SMALL_DIMS)
    assert [t["name"] for t in quarterly.tables] == ["national_by_quarter"]
    assert date(2025, 6, 30) == Period(YEAR, 2).end
