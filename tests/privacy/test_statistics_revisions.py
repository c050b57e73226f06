"""Comparing releases cannot single out the organisation whose one case changed (G5).

A population of single-case organisations, one of which (X) has its case changed between
two states of the data: a closure reopened (and closed again next year), a closure date
corrected into the next quarter, a region corrected, an outcome corrected. Before the
change some periods are published; after it, every release the product lets an operator
publish is tried (a correction of each published period, each period not yet published,
the next year's quarter), through `publish_release`, the one path the CLI and the case
officer's button take.

Then an attacker who knows the rules (perturbation of at most 2, rounding to 5, nothing
under 10 shown, every organisation with one case and one category, how X's case changed,
and that equal membership means an equal figure) bounds everything by integer linear
programming over every figure published, in both states: the other organisations' counts
are unknown whole numbers, X's attributes are unknown one-hot choices. Each value of each
of X's attributes (region, body type, category, outcome, quarters received and closed,
before and after the change) must stay possible, and no hidden cell may be pinned to
within the rounding base. The same attacker, given two versions published without the
policy, does learn X's attribute: the attack is real.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from sqlalchemy import select

from mediation.domain.disclosure_control import THRESHOLD, compute_release
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
from mediation.domain.suppression_bounds import MIN_WIDTH, published_interval
from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.releases import StatisticsRelease
from mediation.services.demo_statistics import HistoricCase, insert_historic_cases
from mediation.services.statistics_inputs import (
    StatisticsKeys,
    amend_statistical_record,
    collect_inputs,
    taxonomy_dimensions,
    unlock_statistics,
)
from mediation.services.statistics_releases import ReleaseRefused, publish_release
from tests.statistics.conftest import Officer, historic

YEAR = 2025
NEXT = Period(YEAR + 1, 1)
TODAY = date(2026, 11, 25)
QUARTERS = [Period(YEAR, q) for q in range(1, 5)]
ALL_PERIODS = [*QUARTERS, Period(YEAR)]
X_CASE = historic(
    date(YEAR, 4, 10),
    date(YEAR, 6, 20),
    region="north_east",
    body_type="nhs_body",
    categories=("consultation",),
    result="not_upheld",
    organisation="x",
    record_key=424242,
)


def population(seed: int) -> list[HistoricCase]:
    """About a hundred single-case organisations with few distinct values, and X last."""
    rng = random.Random(seed)
    cases = []
    for i in range(110):
        submitted = date(YEAR, 1, 1).fromordinal(date(YEAR, 1, 1).toordinal() + rng.randrange(270))
        closed = date.fromordinal(submitted.toordinal() + rng.randrange(20, 95))
        cases.append(
            historic(
                submitted,
                closed,
                region=rng.choices(("london", "north_east", "south_west"), (5, 2, 3))[0],
                body_type=rng.choice(("local_authority", "nhs_body")),
                categories=(rng.choices(("funding_process", "consultation"), (3, 1))[0],),
                result=rng.choices(("breach_acknowledged", "not_upheld"), (2, 1))[0],
                organisation=f"o{i}",
                record_key=rng.randrange(2**31),
            )
        )
    return [*cases, X_CASE]


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


def _reopen(case: Case, keys: StatisticsKeys) -> None:
    case.closed_on = date(YEAR + 1, 2, 10)  # reopened, closed again next year


def _later_closure(case: Case, keys: StatisticsKeys) -> None:
    case.closed_on = date(YEAR, 7, 20)


def _region(case: Case, keys: StatisticsKeys) -> None:
    amend_statistical_record(db.session, keys, case, region="london")


def _outcome(case: Case, keys: StatisticsKeys) -> None:
    amend_statistical_record(db.session, keys, case, result="breach_acknowledged")


CHANGES = [
    Change(
        "closure reopened after the year's release",
        ALL_PERIODS,
        _reopen,
        closed_after=False,
        same=("region", "body_type", "category", "outcome", "received"),
        closes_next_year=True,
    ),
    Change(
        "closure date corrected between quarterly releases",
        QUARTERS[:2],
        _later_closure,
        same=("region", "body_type", "category", "outcome", "received"),
        closed_shifts=True,
        # The later quarters share no figure with the first two; the year and a
        # correction of the second quarter would show its closures moved by one.
        published_after=frozenset({"2025-Q3", "2025-Q4", NEXT.label}),
    ),
    Change(
        "closure date corrected after the year's release, before its quarters'",
        [Period(YEAR)],
        _later_closure,
        same=("region", "body_type", "category", "outcome", "received"),
        closed_shifts=True,
        # A quarter repeats the year's figures: those of the second and third moved.
        published_after=frozenset({"2025-Q1", "2025-Q4", NEXT.label}),
    ),
    Change(
        "region corrected before the year's release",
        QUARTERS,
        _region,
        same=("body_type", "category", "outcome", "received", "closed"),
        differ=("region",),
        # The year repeats the quarters' figures, whose counts the region did not move.
        published_after=frozenset({str(YEAR), NEXT.label}),
    ),
    Change(
        "outcome corrected after the year's release",
        ALL_PERIODS,
        _outcome,
        same=("region", "body_type", "category", "received", "closed"),
        differ=("outcome",),
    ),
]


@dataclass
class Published:
    """A release as the attacker reads it, and the state of the data it was computed on."""

    label: str
    state: int  # 0 before the change, 1 after
    figures: dict[str, int | None] = field(default_factory=dict)


def _figures(content: dict[str, object], label: str) -> dict[str, int | None]:
    period = period_from_label(label)
    figures: dict[str, int | None] = {}
    for table in content["tables"]:  # type: ignore[attr-defined]
        for row in table["rows"]:
            figures[row_cell_id(period, table["name"], row)] = row["count"]
    return figures


def _publish(officer: Officer, period: Period, state: int) -> Published | None:
    label = period.label
    exists = db.session.execute(
        select(StatisticsRelease.id).where(StatisticsRelease.period == label)
    ).first()
    try:
        release = publish_release(
            db.session,
            officer.user,
            officer.key,
            label,
            correction=exists is not None,
            note="Corrected" if exists is not None else None,
            today=TODAY,
        )
    except ReleaseRefused:
        db.session.rollback()
        return None
    db.session.commit()
    return Published(label, state, _figures(json.loads(release.content), label))


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


def _x_rows(officer: Officer) -> tuple[Case, list[CaseRow]]:
    keys = unlock_statistics(db.session, officer.key)
    inputs = collect_inputs(db.session, keys, Period(YEAR))
    (row,) = [row for row in inputs.rows if row[0] == "org:x"]
    case = db.session.execute(select(Case).order_by(Case.id.desc()).limit(1)).scalar_one()
    return case, [row]


@pytest.mark.parametrize("change", CHANGES, ids=[c.name for c in CHANGES])
def test_no_pair_of_releases_singles_out_the_organisation_whose_case_changed(
    officer: Officer, change: Change
) -> None:
    keys = unlock_statistics(db.session, officer.key)
    insert_historic_cases(db.session, keys, population(1), destroyed_on=date(2026, 1, 1))
    db.session.commit()
    dims = taxonomy_dimensions()
    published = [_publish(officer, period, 0) for period in change.before]
    assert all(published), "every period publishes before the change"
    case, rows = _x_rows(officer)
    change.apply(case, keys)
    db.session.commit()
    _, after = _x_rows(officer)
    rows += after
    # Every release the operator could publish now: a correction of each period out, each
    # period not yet out, and the next year's first quarter.
    tried = {period.label: _publish(officer, period, 1) for period in [*ALL_PERIODS, NEXT]}
    releases = [r for r in published if r is not None]
    releases += [r for r in tried.values() if r is not None]
    assert {label for label, found in tried.items() if found} == change.published_after
    attacker = Attacker(dims, change, releases)
    # What the attacker knows of the change alone, without a figure (a closure moved to
    # the next quarter was not in the fourth): the figures must narrow nothing further.
    prior = Attacker(dims, change, [])
    for state in (0, 1):
        for attribute in ("region", "body_type", "category", "outcome", "received", "closed"):
            # An attribute the same before and after is asked once, before.
            if state == 1 and (
                attribute in change.same or (attribute == "closed" and not change.closed_after)
            ):
                continue
            expected = set(attacker.values[attribute])
            if attribute == "closed" and change.closed_shifts:
                expected = prior.possible(state, attribute)
            assert attacker.possible(state, attribute) == expected, (
                f"X's {attribute} {'after' if state else 'before'} the change is narrowed down"
            )
    truth = attacker.truth(rows)
    hidden = {
        (cell, release.state)
        for release in releases
        for cell, value in release.figures.items()
        if value is None
    }
    for cell, state in sorted(hidden):
        low, high = attacker.interval(cell, state, truth)
        assert high - low >= MIN_WIDTH, (cell, state, low, high)


def test_without_the_policy_the_same_attacker_learns_the_changed_region(
    officer: Officer,
) -> None:
    """Two versions of a year one region correction apart, the second computed over the
    first's history with the same cell keys, as corrections were published until
    2026-12-08 (no revisions policy): the attacker narrows the region down."""
    change = CHANGES[2]
    learned = 0
    dims = taxonomy_dimensions()
    keys = unlock_statistics(db.session, officer.key)
    insert_historic_cases(db.session, keys, population(1), destroyed_on=date(2026, 1, 1))
    db.session.commit()
    case, before = _x_rows(officer)
    change.apply(case, keys)
    db.session.commit()
    inputs = collect_inputs(db.session, keys, Period(YEAR)).rows
    for seed in range(8):
        # Other populations: the same cases with other record keys.
        rng = random.Random(seed)
        new_keys = {row[0]: rng.randrange(2**31) for row in inputs}
        state_b = [(row[0], new_keys[row[0]], *row[2:]) for row in inputs]
        state_a = [
            row if row[0] != "org:x" else (row[0], new_keys["org:x"], *before[0][2:])
            for row in state_b
        ]
        first = compute_release(state_a, Period(YEAR), dims)
        shown = {c for c, v in _figures(first.content(), str(YEAR)).items() if v is not None}
        hidden = {c for c, v in _figures(first.content(), str(YEAR)).items() if v is None}
        second = compute_release(
            state_b,
            Period(YEAR),
            dims,
            previously_published=shown,
            previously_suppressed=hidden,
        )
        releases = [
            Published(str(YEAR), 0, _figures(first.content(), str(YEAR))),
            Published(str(YEAR), 1, _figures(second.content(), str(YEAR))),
        ]
        attacker = Attacker(dims, change, releases)
        if len(attacker.possible(1, "region")) < len(attacker.values["region"]):
            learned += 1
            break
    assert learned, "the attack should narrow the region down in some of the populations"
