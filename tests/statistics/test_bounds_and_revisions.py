"""The integer-programming bounds check and the revisions policy, rule by rule (no database)."""

from __future__ import annotations

import pytest

from mediation.domain.complementary_suppression import exposed_cells
from mediation.domain.disclosure_control import PinnedCell, widen_hidden_intervals
from mediation.domain.statistics_periods import Period
from mediation.domain.statistics_revisions import (
    EarlierRelease,
    RevisionRefused,
    plan_revision,
)
from mediation.domain.statistics_tables import CellGrid, Line
from mediation.domain.suppression_bounds import (
    Interval,
    narrow_hidden_cells,
    published_interval,
)


def _line_grid() -> tuple[CellGrid, list[int]]:
    """One line: two small hidden cells, a published member of 10 and a total of 13."""
    grid = CellGrid(Period(2025))
    cells = [grid.cell(name) for name in ("small_a", "small_b", "member", "total")]
    grid.lines.append(Line(tuple(cells[:3]), cells[3]))
    return grid, [1, 2, 10, 13]


def test_a_published_figure_bounds_its_count_to_nine_values_at_most() -> None:
    assert published_interval(25, threshold=10, largest_adjustment=2) == Interval(21, 29)
    # Shown as 10: at least the threshold (it was published) and at most 14.
    assert published_interval(10, threshold=10, largest_adjustment=2) == Interval(10, 14)


def test_non_negativity_pins_hidden_cells_that_the_linear_span_leaves_alone() -> None:
    """Total shown as 10 (10 to 14), a member shown as 10 (10 to 14): the two hidden cells
    add up to at most 4, so each is pinned to 0..4, though neither follows exactly."""
    grid, _counts = _line_grid()
    hidden = {0, 1}
    assert not exposed_cells(grid.lines, hidden)
    known = {2: published_interval(10, threshold=10, largest_adjustment=2)}
    known[3] = published_interval(10, threshold=10, largest_adjustment=2)
    narrow = narrow_hidden_cells(4, grid.lines, [True], known, sorted(hidden))
    assert narrow == {0: 4, 1: 4}


def test_publication_hides_more_until_no_hidden_cell_is_pinned() -> None:
    grid, counts = _line_grid()
    hidden = widen_hidden_intervals(grid, counts, {0, 1}, [0, 0, 10, 10], fixed=set())
    # The published member (not the total) is hidden too: then each small cell can be
    # anything from 0 to 14.
    assert hidden == {0, 1, 2}
    with pytest.raises(PinnedCell, match="small_a"):
        widen_hidden_intervals(grid, counts, {0, 1}, [0, 0, 10, 10], fixed={2, 3})


def _earlier(counts: dict[str, int] | None, **figures: int | None) -> EarlierRelease:
    return EarlierRelease("2025-Q1-v1", figures, counts)


def test_a_release_over_unchanged_counts_repeats_the_published_figures() -> None:
    earlier = _earlier({"a": 12, "b": 4}, a=10, b=None)
    plan = plan_revision("2025", {"a": 12, "b": 4, "c": 30}, [earlier])
    assert not plan.changed and not plan.redraw
    assert plan.frozen == {"a": 10, "b": None}


def test_a_change_of_fewer_than_ten_organisations_waits() -> None:
    earlier = _earlier({"a": 12, "b": 4}, a=10, b=None)
    with pytest.raises(RevisionRefused, match="changes wait"):
        plan_revision("2025", {"a": 12, "b": 3}, [earlier])
    with pytest.raises(RevisionRefused, match="changes wait"):
        plan_revision("2025", {"a": 21, "b": 4}, [earlier])


def test_a_change_of_ten_or_more_redraws_every_figure_and_keeps_hidden_ones_hidden() -> None:
    earlier = _earlier({"a": 12, "b": 4, "c": 30}, a=10, b=None, c=30)
    plan = plan_revision("2025", {"a": 22, "b": 4, "c": 30}, [earlier])
    assert plan.redraw and plan.moved == 10 and not plan.frozen
    assert plan.suppressed_before == {"b"}
    # The unmoved published figure still bounds its cell, and cannot be hidden now.
    assert plan.fixed == {"c"} and plan.earlier_values == {"c": [30]}


def test_figures_published_before_their_counts_were_kept_cannot_be_compared() -> None:
    with pytest.raises(RevisionRefused, match="cannot be checked"):
        plan_revision("2025", {"a": 12}, [_earlier(None, a=10)])
    # A release sharing no cell with it is not held back.
    assert not plan_revision("2025-Q2", {"z": 3}, [_earlier(None, a=10)]).changed
