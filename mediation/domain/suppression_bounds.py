"""How tightly everything published pins each hidden cell: integer linear programming.

Complementary suppression by the linear span (`complementary_suppression`) only asks
whether a hidden cell *equals* some sum of published figures. Counts are also whole and
never negative, and a published figure bounds its true count to a few values (the
perturbation is at most 2 either way, the rounding at most 2 more). With those, a hidden
cell can be pinned to a narrow interval even when no exact sum gives it: a line whose
published total is 12 and whose published members add up to 10 leaves its two hidden
cells very little room. So at publication every hidden cell is bounded by an integer
linear programme over every published figure (and the tables' lines), solved with
HiGHS through scipy, and more cells are hidden until no hidden cell is pinned to fewer
than `MIN_WIDTH + 1` values.

The bounds are an attacker's: the lines are equalities wherever the true counts add up
exactly (an attacker may know that every organisation had one case), and inequalities
(the members add up to at least the total, none exceeds it) otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from mediation.domain.statistics_tables import Line

# Wider than the rounding base: a hidden cell must keep more possible values than a
# published one rounded to 5 shows (at least 6).
MIN_WIDTH = 5
# Above any count a release can hold: the variables' upper bound when nothing tighter is
# known (HiGHS needs finite bounds to be quick, and a count is never this large).
NO_LIMIT = 10**9


@dataclass(frozen=True)
class Interval:
    low: int
    high: int

    @property
    def width(self) -> int:
        return self.high - self.low


def published_interval(value: int, *, threshold: int, largest_adjustment: int) -> Interval:
    """The true counts a published figure allows: perturbed by at most the largest
    adjustment, rounded to 5 (halves up), shown as at least the threshold, and published
    only if the count reached the threshold."""
    half = 2  # round_to_base(x) == value for value - 2 <= x <= value + 2
    high = value + half + largest_adjustment
    low = max(threshold, value - half - largest_adjustment)
    return Interval(low, high)


def narrow_hidden_cells(
    size: int,
    lines: Sequence[Line],
    exact: Sequence[bool],
    known: Mapping[int, Interval],
    hidden: Sequence[int],
    width: int = MIN_WIDTH,
) -> dict[int, int]:
    """The hidden cells whose whole count, over every solution of the constraints (every
    known interval, every line, counts whole and never negative), spans fewer than
    `width` values above its smallest: each with the span it has.

    One integer programme answers for all of them: for each hidden cell, two copies of
    every count (its smallest and its largest solution) and a gap capped at `width`, the
    gaps' sum maximised; the copies of different cells share no constraint, so each gap
    reaches its own cell's span or the cap."""
    if not hidden:
        return {}
    block_rows, lower, upper = _line_rows(size, lines, exact)
    low = np.zeros(size)
    high = np.full(size, float(NO_LIMIT))
    for cell, interval in known.items():
        low[cell] = interval.low
        high[cell] = interval.high
    copies = 2 * len(hidden)
    # Variables: the copies, one block of `size` each, then one gap per hidden cell.
    total = copies * size + len(hidden)
    blocks = [block_rows] * copies
    matrix = sparse.block_diag(blocks, format="csr") if block_rows.shape[0] else None
    gap_rows = sparse.lil_matrix((len(hidden), total))
    for number, cell in enumerate(hidden):
        largest, smallest = 2 * number * size, (2 * number + 1) * size
        gap = copies * size + number
        # gap <= largest copy - smallest copy
        gap_rows[number, gap] = 1
        gap_rows[number, largest + cell] = -1
        gap_rows[number, smallest + cell] = 1
    constraints = [LinearConstraint(gap_rows.tocsr(), -np.inf, 0)]
    if matrix is not None:
        padded = sparse.hstack([matrix, sparse.csr_matrix((matrix.shape[0], len(hidden)))])
        constraints.append(
            LinearConstraint(padded.tocsr(), np.tile(lower, copies), np.tile(upper, copies))
        )
    bounds = Bounds(
        np.concatenate([np.tile(low, copies), np.zeros(len(hidden))]),
        np.concatenate([np.tile(high, copies), np.full(len(hidden), float(width))]),
    )
    objective = np.concatenate([np.zeros(copies * size), -np.ones(len(hidden))])
    result = milp(objective, constraints=constraints, integrality=np.ones(total), bounds=bounds)
    if result.status != 0 or result.x is None:
        raise InfeasibleFigures(
            "The published figures contradict each other: no counts fit them all."
        )
    gaps = result.x[copies * size :]
    return {
        cell: round(float(gaps[number]))
        for number, cell in enumerate(hidden)
        if round(gaps[number]) < width
    }


def _line_rows(
    size: int, lines: Sequence[Line], exact: Sequence[bool]
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """The lines as rows of a constraint matrix: members add up to the total where the
    line is exact; otherwise to at least the total, and no member exceeds it."""
    rows: list[dict[int, float]] = []
    lower: list[float] = []
    upper: list[float] = []
    for line, is_exact in zip(lines, exact, strict=True):
        row: dict[int, float] = {}
        for cell in line.members:
            row[cell] = row.get(cell, 0.0) + 1
        row[line.total] = row.get(line.total, 0.0) - 1
        rows.append(row)
        lower.append(0)
        upper.append(0 if is_exact else np.inf)
        if not is_exact:
            for cell in line.members:
                rows.append({cell: 1.0, line.total: -1.0})
                lower.append(-np.inf)
                upper.append(0)
    matrix = sparse.lil_matrix((len(rows), size))
    for number, row in enumerate(rows):
        for cell, value in row.items():
            matrix[number, cell] = value
    return matrix.tocsr(), np.array(lower, dtype=float), np.array(upper, dtype=float)


class InfeasibleFigures(ValueError):
    """No counts fit the figures given: the bounds were computed from inconsistent data."""


def exact_lines(lines: Sequence[Line], counts: Sequence[int]) -> list[bool]:
    """Which lines add up exactly in the true counts (an attacker may know they do)."""
    return [sum(counts[c] for c in line.members) == counts[line.total] for line in lines]
