"""An attacker on published statistics: integer linear programming over every figure of
releases computed before and after one organisation's single case changed (X's), with X's
attributes as unknown one-hot choices and the other organisations' counts as unknown
whole numbers. Used by test_statistics_revisions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from mediation.domain.disclosure_control import THRESHOLD
from mediation.domain.statistics_periods import Period, period_from_label
from mediation.domain.statistics_tables import (
    NOT_RECORDED,
    RESOLUTION_BANDS,
    CaseRow,
    Dimensions,
    build_grid,
    resolution_band,
    row_cell_id,
)
from mediation.domain.suppression_bounds import published_interval
from mediation.models.cases import Case
from mediation.services.statistics_inputs import StatisticsKeys

YEAR = 2025
NEXT = Period(YEAR + 1, 1)
QUARTERS = [Period(YEAR, q) for q in range(1, 5)]


@dataclass
class Change:
    """How X's case changes, as the attacker knows it: which attributes stay, which move."""

    name: str
    before: list[Period]
    apply: Callable[[Case, StatisticsKeys], None]
    closed_after: bool = True  # X's case is closed within the year after the change
    same: tuple[str, ...] = ("region", "body_type", "category", "outcome", "received", "closed")
    differ: tuple[str, ...] = ()
    closed_shifts: bool = False  # X's closure moves to the next quarter
    closes_next_year: bool = False
    # What the policy lets through after the change, of every release tried.
    published_after: frozenset[str] = frozenset({NEXT.label})


@dataclass
class Published:
    """A release as the attacker reads it, and the state of the data it was computed on."""

    label: str
    state: int  # 0 before the change, 1 after
    figures: dict[str, int | None] = field(default_factory=dict)


def figures_of(content: dict[str, object], label: str) -> dict[str, int | None]:
    period = period_from_label(label)
    figures: dict[str, int | None] = {}
    for table in content["tables"]:  # type: ignore[attr-defined]
        for row in table["rows"]:
            figures[row_cell_id(period, table["name"], row)] = row["count"]
    return figures


class Attacker:
    """Integer linear programming over every figure published in both states."""

    def __init__(self, dims: Dimensions, change: Change, releases: list[Published]) -> None:
        self.dims = dims
        self.change = change
        year_grid = build_grid(Period(YEAR), dims)
        next_grid = build_grid(NEXT, dims)
        self.cells = [*year_grid.cell_ids, *next_grid.cell_ids]
        self.index = {cell: n for n, cell in enumerate(self.cells)}
        self.lines = list(year_grid.lines)
        self.size = len(self.cells)
        self.values: dict[str, tuple[str, ...]] = {
            "region": dims.region_values(),
            "body_type": dims.body_type_values(),
            "category": dims.category_values(),
            "outcome": dims.result_values(),
            "received": tuple(q.label for q in QUARTERS),
            "closed": tuple(q.label for q in QUARTERS),
            "band": tuple(band[0] for band in RESOLUTION_BANDS),
        }
        # Variables: the others' counts, then per state X's one-hot choices.
        self.columns = self.size
        self.choice: list[dict[str, dict[str, int]]] = [{}, {}]
        for state in (0, 1):
            for attribute, values in self.values.items():
                self.choice[state][attribute] = {}
                for value in values:
                    self.choice[state][attribute][value] = self.columns
                    self.columns += 1
        self.pair: list[dict[tuple[str, str], int]] = [{}, {}]
        for state in (0, 1):
            for category in dims.category_values():
                for outcome in dims.result_values():
                    self.pair[state][category, outcome] = self.columns
                    self.columns += 1
        self.rows: list[dict[int, float]] = []
        self._matrix: sparse.csr_matrix | None = None
        self.low: list[float] = []
        self.high: list[float] = []
        self._structure()
        for release in releases:
            for cell, value in release.figures.items():
                if value is None:
                    continue
                found = published_interval(value, threshold=THRESHOLD, largest_adjustment=2)
                self._add(self._count(cell, release.state), found.low, found.high)
        self._determinism(releases)

    def _closed(self, state: int) -> bool:
        return state == 0 or self.change.closed_after

    def _member(self, cell: str, state: int) -> dict[int, float]:
        """X's membership of a cell as a linear expression of its choices."""
        choice = self.choice[state]
        year = str(YEAR)
        if cell.startswith(f"received|{YEAR}-Q"):
            return {choice["received"][cell.split("|")[1]]: 1}
        if cell == f"received|{year}":
            return {}  # a constant 1, added by _count
        if cell == f"closed|{NEXT.label}":
            return {}
        if cell.startswith(f"closed|{YEAR}-Q") and self._closed(state):
            return {choice["closed"][cell.split("|")[1]]: 1}
        parts = dict(part.split("=") for part in cell.split("|")[2:])
        if not cell.startswith(f"closed|{year}") or not self._closed(state) or not parts:
            return {}
        if set(parts) == {"category", "outcome"}:
            return {self.pair[state][parts["category"], parts["outcome"]]: 1}
        ((attribute, value),) = parts.items()
        return {choice[attribute][value]: 1}

    def _constant(self, cell: str, state: int) -> int:
        if cell == f"received|{YEAR}":
            return 1
        if cell == f"closed|{YEAR}":
            return 1 if self._closed(state) else 0
        if cell == f"closed|{NEXT.label}":
            return 1 if state == 1 and self.change.closes_next_year else 0
        return 0

    def _count(self, cell: str, state: int) -> tuple[dict[int, float], int]:
        expression = {self.index[cell]: 1.0, **self._member(cell, state)}
        return expression, self._constant(cell, state)

    def _add(self, count: tuple[dict[int, float], int], low: float, high: float) -> None:
        expression, constant = count
        self.rows.append(expression)
        self.low.append(low - constant)
        self.high.append(high - constant)

    def _structure(self) -> None:
        # The others' counts add up along every line (one case, one category each).
        for line in self.lines:
            row: dict[int, float] = dict.fromkeys(line.members, 1.0)
            row[line.total] = -1.0
            self.rows.append(row)
            self.low.append(0)
            self.high.append(0)
        for state in (0, 1):
            choice = self.choice[state]
            for attribute in self.values:
                self.rows.append(dict.fromkeys(choice[attribute].values(), 1.0))
                self.low.append(1)
                self.high.append(1)
            for (category, outcome), column in self.pair[state].items():
                both = choice["category"][category], choice["outcome"][outcome]
                for one in both:
                    self.rows.append({column: 1.0, one: -1.0})
                    self.low.append(-np.inf)
                    self.high.append(0)
                self.rows.append({column: 1.0, both[0]: -1.0, both[1]: -1.0})
                self.low.append(-1)
                self.high.append(np.inf)
        # The change as the attacker knows it.
        for attribute in self.change.same:
            for value in self.values[attribute]:
                self.rows.append(
                    {self.choice[0][attribute][value]: 1.0, self.choice[1][attribute][value]: -1.0}
                )
                self.low.append(0)
                self.high.append(0)
        for attribute in self.change.differ:
            for value in self.values[attribute]:
                self.rows.append(
                    {self.choice[0][attribute][value]: 1.0, self.choice[1][attribute][value]: 1.0}
                )
                self.low.append(0)
                self.high.append(1)
        if self.change.closed_shifts:
            closed = self.values["closed"]
            for before, after in zip(closed, (*closed[1:], None), strict=True):
                row = {self.choice[0]["closed"][before]: 1.0}
                if after is not None:
                    row[self.choice[1]["closed"][after]] = -1.0
                self.rows.append(row)
                self.low.append(0)
                self.high.append(0)

    def _determinism(self, releases: list[Published]) -> None:
        """A cell shown with different values before and after the change held X in one
        state and not the other (the cell key depends only on membership)."""
        shown: list[dict[str, int]] = [{}, {}]
        for release in releases:
            for cell, value in release.figures.items():
                if value is not None:
                    shown[release.state].setdefault(cell, value)
        for cell in set(shown[0]) & set(shown[1]):
            if shown[0][cell] == shown[1][cell]:
                continue
            before, after = self._member(cell, 0), self._member(cell, 1)
            constant = self._constant(cell, 1) - self._constant(cell, 0)
            # |after - before + constant| >= 1, a binary picking the side.
            side = self.columns
            self.columns += 1
            up: dict[int, float] = {}
            for column, weight in after.items():
                up[column] = up.get(column, 0.0) + weight
            for column, weight in before.items():
                up[column] = up.get(column, 0.0) - weight
            self.rows.append({**up, side: 3.0})
            self.low.append(1 - constant)
            self.high.append(np.inf)
            self.rows.append({**{c: -w for c, w in up.items()}, side: -3.0})
            self.low.append(-2 + constant)
            self.high.append(np.inf)

    def _solve(self, objective: dict[int, float], fixed: dict[int, float]) -> float | None:
        if self._matrix is None or self._matrix.shape != (len(self.rows), self.columns):
            entries: dict[tuple[int, int], float] = {}
            for number, row in enumerate(self.rows):
                for column, weight in row.items():
                    entries[number, column] = entries.get((number, column), 0.0) + weight
            self._matrix = sparse.csr_matrix(
                (
                    list(entries.values()),
                    ([r for r, _ in entries], [c for _, c in entries]),
                ),
                shape=(len(self.rows), self.columns),
            )
        matrix = self._matrix
        low = np.zeros(self.columns)
        high = np.full(self.columns, 1e6)
        high[self.size :] = 1
        for column, value in fixed.items():
            low[column] = high[column] = value
        vector = np.zeros(self.columns)
        for column, weight in objective.items():
            vector[column] = weight
        result = milp(
            vector,
            constraints=[LinearConstraint(matrix, self.low, self.high)],
            integrality=np.ones(self.columns),
            bounds=Bounds(low, high),
        )
        return None if result.status != 0 else float(result.fun)

    def possible(self, state: int, attribute: str) -> set[str]:
        """The values of X's attribute (in a state) that fit everything published."""
        return {
            value
            for value, column in self.choice[state][attribute].items()
            if self._solve({}, {column: 1}) is not None
        }

    def interval(self, cell: str, state: int, truth: dict[int, float]) -> tuple[int, int]:
        """The smallest and largest count of a cell, X's attributes known (worst case)."""
        expression, constant = self._count(cell, state)
        low = self._solve(expression, truth)
        high = self._solve({c: -w for c, w in expression.items()}, truth)
        assert low is not None and high is not None
        return round(low) + constant, round(-high) + constant

    def truth(self, rows: list[CaseRow]) -> dict[int, float]:
        """X's true choices in both states (from its rows)."""
        fixed: dict[int, float] = {}
        for state, row in enumerate(rows):
            _unit, _key, _body, body_type, region, categories, result, submitted, closed = row
            picked = {
                "region": region or NOT_RECORDED,
                "body_type": body_type or NOT_RECORDED,
                "category": categories[0],
                "outcome": result or NOT_RECORDED,
                "received": Period(YEAR).quarter_of(submitted).label,
            }
            if closed is not None and closed.year == YEAR:
                picked["closed"] = Period(YEAR).quarter_of(closed).label
                picked["band"] = resolution_band((closed - submitted).days)
            for attribute, value in picked.items():
                for other, column in self.choice[state][attribute].items():
                    fixed[column] = 1.0 if other == value else 0.0
        return fixed
