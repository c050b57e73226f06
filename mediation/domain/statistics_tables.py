"""The fixed catalogue of statistics tables, and the cells each period's release is made of.

Every table is made of *cells*; a cell shared by several tables (the year's total of
organisations whose case closed appears in five of them) is one cell with one value, so
the same figure is never published twice with different protection. Cells are named by a
stable id ("closed|2026|region=london"), which is how a later release recognises a figure
an earlier one already published.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from mediation.domain.statistics_periods import (
    QUARTER,
    YEAR,
    Period,
    PeriodRefused,
    parse_period,
)

__all__ = [
    "ALL",
    "CATALOGUE",
    "NOT_RECORDED",
    "RESOLUTION_BANDS",
    "CaseRow",
    "CaseStatistics",
    "CellGrid",
    "Dimensions",
    "Line",
    "Period",
    "PeriodRefused",
    "TableSpec",
    "build_grid",
    "parse_period",
    "resolution_band",
]

ALL = "all"
NOT_RECORDED = "not_recorded"
RECEIVED = "received"
CLOSED = "closed"
MEASURES = (RECEIVED, CLOSED)

# (id, label, first day, last day) of time from submission to closure, in calendar days.
RESOLUTION_BANDS: tuple[tuple[str, str, int, int | None], ...] = (
    ("under_1_month", "Under 1 month", 0, 30),
    ("1_to_3_months", "1 to 3 months", 31, 91),
    ("3_to_6_months", "3 to 6 months", 92, 182),
    ("6_to_12_months", "6 to 12 months", 183, 365),
    ("over_12_months", "Over 12 months", 366, None),
)


def resolution_band(days: int) -> str:
    """The band a number of days from submission to closure falls in."""
    days = max(0, days)
    for band_id, _label, first, last in RESOLUTION_BANDS:
        if days >= first and (last is None or days <= last):
            return band_id
    raise AssertionError("the bands cover every number of days")


@dataclass(frozen=True)
class Dimensions:
    """The values each dimension can take (taxonomy identifiers); NOT_RECORDED is added."""

    regions: tuple[str, ...]
    body_types: tuple[str, ...]
    categories: tuple[str, ...]
    results: tuple[str, ...]

    def region_values(self) -> tuple[str, ...]:
        return (*self.regions, NOT_RECORDED)

    def body_type_values(self) -> tuple[str, ...]:
        return (*self.body_types, NOT_RECORDED)

    def category_values(self) -> tuple[str, ...]:
        return (*self.categories, NOT_RECORDED)

    def result_values(self) -> tuple[str, ...]:
        return (*self.results, NOT_RECORDED)


@dataclass(frozen=True)
class TableSpec:
    """One table of the catalogue: its name, title, dimensions and the periods it is in."""

    name: str
    title: str
    dimensions: tuple[str, ...]
    period_kinds: frozenset[str]
    description: str


CATALOGUE: tuple[TableSpec, ...] = (
    TableSpec(
        "national_by_quarter",
        "Organisations whose complaint was received or closed, England, by quarter",
        ("quarter", "measure"),
        frozenset({QUARTER, YEAR}),
        "Distinct complainant organisations with a complaint received, or closed, in each "
        "quarter; the row 'all' is the whole year.",
    ),
    TableSpec(
        "region_by_year",
        "Organisations whose complaint closed, by the organisation's region",
        ("year", "region"),
        frozenset({YEAR}),
        "Distinct complainant organisations with a complaint closed in the year, by the "
        "English region the organisation works in.",
    ),
    TableSpec(
        "body_type_by_year",
        "Organisations whose complaint closed, by type of public body complained about",
        ("year", "body_type"),
        frozenset({YEAR}),
        "Distinct complainant organisations with a complaint closed in the year, by the type "
        "of public body. No body is ever named.",
    ),
    TableSpec(
        "category_outcome_by_year",
        "Organisations whose complaint closed, by breach category and outcome",
        ("year", "category", "outcome"),
        frozenset({YEAR}),
        "Distinct complainant organisations with a complaint closed in the year, by breach "
        "category and outcome. A complaint can be about several categories, so categories "
        "add up to more than the total.",
    ),
    TableSpec(
        "resolution_time_by_year",
        "Organisations whose complaint closed, by time from submission to closure",
        ("year", "band"),
        frozenset({YEAR}),
        "Distinct complainant organisations with a complaint closed in the year, by the time "
        "the complaint took, in bands only.",
    ),
)


def specs_for(period: Period) -> tuple[TableSpec, ...]:
    return tuple(spec for spec in CATALOGUE if period.kind in spec.period_kinds)


def spec_named(name: str) -> TableSpec:
    for spec in CATALOGUE:
        if spec.name == name:
            return spec
    raise KeyError(name)


@dataclass(frozen=True, slots=True)
class CaseStatistics:
    """What one case contributes: the statistical inputs, already opened.

    `unit` identifies the complainant organisation (its pseudonym, or the case itself for
    an anonymous case or one not yet triaged); `unit_key` is the organisation's random
    record key, fixed when its first case was created (the cell-key method sums them).
    `body` is the respondent body's id, used only to test dominance, never published.
    """

    unit: str
    unit_key: int
    body: int | None
    body_type: str | None
    region: str | None
    categories: tuple[str, ...]
    result: str | None
    submitted_on: date
    closed_on: date | None

    def row(self) -> CaseRow:
        return (
            self.unit,
            self.unit_key,
            self.body,
            self.body_type,
            self.region,
            self.categories,
            self.result,
            self.submitted_on,
            self.closed_on,
        )


# The same inputs as a plain tuple, in CaseStatistics' field order: what a release over a
# million cases collects, since a tuple costs a fraction of an object to make.
CaseRow = tuple[
    str, int, int | None, str | None, str | None, tuple[str, ...], str | None, date, date | None
]


def case_rows(cases: Iterable[CaseStatistics | CaseRow]) -> list[CaseRow]:
    """The cases as rows (rows are kept as they are)."""
    return [case.row() if isinstance(case, CaseStatistics) else case for case in cases]


@dataclass(frozen=True)
class Line:
    """Cells that add up to a total (or, for categories, would if counted once each)."""

    members: tuple[int, ...]
    total: int

    @property
    def cells(self) -> tuple[int, ...]:
        return (*self.members, self.total)


@dataclass
class TableLayout:
    spec: TableSpec
    rows: list[tuple[dict[str, str], int]] = field(default_factory=list)


@dataclass
class CellGrid:
    """The cells of one release, the lines that tie them together, and the table layouts."""

    period: Period
    cell_ids: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    tables: list[TableLayout] = field(default_factory=list)

    def cell(self, cell_id: str) -> int:
        found = self.index.get(cell_id)
        if found is None:
            found = len(self.cell_ids)
            self.cell_ids.append(cell_id)
            self.index[cell_id] = found
        return found

    def national_cells(self) -> list[int]:
        """The national series (the cells differential privacy may add noise to)."""
        national = self.tables[0]
        assert national.spec.name == "national_by_quarter"
        return [cell for _, cell in national.rows]


def cell_id(measure: str, period_label: str, **dims: str) -> str:
    parts = [measure, period_label]
    parts += [f"{name}={value}" for name, value in sorted(dims.items()) if value != ALL]
    return "|".join(parts)


def build_grid(period: Period, dims: Dimensions) -> CellGrid:
    """Every cell, line and table row of a release for the period, in a fixed order."""
    grid = CellGrid(period)
    year = str(period.year)
    national = TableLayout(CATALOGUE[0])
    quarters = [q.label for q in period.quarters()]
    for measure in MEASURES:
        members = []
        for quarter in quarters:
            cell = grid.cell(cell_id(measure, quarter))
            members.append(cell)
            national.rows.append(({"quarter": quarter, "measure": measure}, cell))
        if period.kind == YEAR:
            total = grid.cell(cell_id(measure, year))
            national.rows.append(({"quarter": ALL, "measure": measure}, total))
            grid.lines.append(Line(tuple(members), total))
    grid.tables.append(national)
    if period.kind == QUARTER:
        return grid
    total = grid.cell(cell_id(CLOSED, year))
    for spec_name, dim, values in (
        ("region_by_year", "region", dims.region_values()),
        ("body_type_by_year", "body_type", dims.body_type_values()),
        ("resolution_time_by_year", "band", tuple(b[0] for b in RESOLUTION_BANDS)),
    ):
        layout = TableLayout(spec_named(spec_name))
        members = []
        for value in values:
            cell = grid.cell(cell_id(CLOSED, year, **{dim: value}))
            members.append(cell)
            layout.rows.append(({"year": year, dim: value}, cell))
        layout.rows.append(({"year": year, dim: ALL}, total))
        grid.lines.append(Line(tuple(members), total))
        grid.tables.append(layout)
    grid.tables.insert(3, _category_outcome(grid, dims, year, total))
    return grid


def _category_outcome(grid: CellGrid, dims: Dimensions, year: str, total: int) -> TableLayout:
    layout = TableLayout(spec_named("category_outcome_by_year"))
    categories, outcomes = dims.category_values(), dims.result_values()
    inner = {
        (c, o): grid.cell(cell_id(CLOSED, year, category=c, outcome=o))
        for c in categories
        for o in outcomes
    }
    by_category = {c: grid.cell(cell_id(CLOSED, year, category=c)) for c in categories}
    by_outcome = {o: grid.cell(cell_id(CLOSED, year, outcome=o)) for o in outcomes}
    for c in categories:
        for o in outcomes:
            layout.rows.append(({"year": year, "category": c, "outcome": o}, inner[c, o]))
        layout.rows.append(({"year": year, "category": c, "outcome": ALL}, by_category[c]))
        grid.lines.append(Line(tuple(inner[c, o] for o in outcomes), by_category[c]))
    for o in outcomes:
        layout.rows.append(({"year": year, "category": ALL, "outcome": o}, by_outcome[o]))
        grid.lines.append(Line(tuple(inner[c, o] for c in categories), by_outcome[o]))
    layout.rows.append(({"year": year, "category": ALL, "outcome": ALL}, total))
    grid.lines.append(Line(tuple(by_outcome[o] for o in outcomes), total))
    grid.lines.append(Line(tuple(by_category[c] for c in categories), total))
    return layout


def row_cell_id(period: Period, table: str, row: dict[str, object]) -> str:
    """The cell id of a published row (to recognise figures earlier releases published)."""
    if table == "national_by_quarter":
        quarter = str(row["quarter"])
        return cell_id(str(row["measure"]), str(period.year) if quarter == ALL else quarter)
    spec = spec_named(table)
    dims = {d: str(row[d]) for d in spec.dimensions if d != "year"}
    return cell_id(CLOSED, str(row["year"]), **dims)
