"""Disclosure control for statistics releases: what may be published, and how.

The rules, applied to every cell of every release:
1. Count distinct complainant organisations, never cases (an anonymous case is its own).
2. Suppress a cell of fewer than 10 organisations.
3. Suppress a cell where one respondent body accounts for more than half the organisations.
4. Complementary suppression, so no suppressed cell follows from rows, columns or totals,
   this release's or any earlier one's; a cell an earlier release suppressed stays
   suppressed; and every hidden cell is bounded by integer linear programming over
   everything published (suppression_bounds), more cells hidden until none is pinned to
   within the rounding base. What a release may show of figures already published is the
   revisions policy's (statistics_revisions).
5. Perturb the rest with the ONS cell-key method, then round to the nearest 5.
6. Percentages only from published counts, over a denominator of at least 20.
7. Time to resolution only in bands; a median only over at least 10 organisations.
8. Optionally, differential-privacy noise on the national series instead of the cell key.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain

from mediation.domain.cell_key import DEFAULT_PTABLE, PTable, cell_key
from mediation.domain.complementary_suppression import best_candidate, complementary_suppression
from mediation.domain.differential_privacy import NoisePlan, NoiseSource
from mediation.domain.statistics_cells import CellIndex
from mediation.domain.statistics_periods import YEAR, Period
from mediation.domain.statistics_tables import (
    CaseRow,
    CaseStatistics,
    CellGrid,
    Dimensions,
    build_grid,
    case_rows,
    cell_id,
)
from mediation.domain.suppression_bounds import (
    Interval,
    exact_lines,
    narrow_hidden_cells,
    published_interval,
)

THRESHOLD = 10
ROUNDING_BASE = 5
PERCENTAGE_MIN_DENOMINATOR = 20
MEDIAN_MIN_ORGANISATIONS = 10
CASE_UNIT_PREFIX = "case:"

THRESHOLD_REASON = "threshold"
DOMINANCE_REASON = "dominance"
COMPLEMENTARY_REASON = "complementary"
PERSISTENCE_REASON = "persistence"


def round_to_base(value: int, base: int = ROUNDING_BASE) -> int:
    """Round to the nearest multiple of `base`, halves upwards (never banker's rounding)."""
    return ((value + base // 2) // base) * base


def below_threshold(count: int) -> bool:
    return count < THRESHOLD


def dominated(count: int, top_body: int) -> bool:
    """One respondent body accounts for more than half of the cell's organisations."""
    return count > 0 and 2 * top_body > count


def percentage(part: int | None, whole: int | None) -> int | None:
    """A whole-number percentage, only of published counts over a denominator of 20 or more."""
    if part is None or whole is None or whole < PERCENTAGE_MIN_DENOMINATOR:
        return None
    if part < 0 or part > whole:
        return None
    return (200 * part + whole) // (2 * whole)


def median_days(durations: Sequence[int], organisations: int) -> int | None:
    """The median time to resolution, rounded to 5 days, only over at least 10
    organisations, each counted once (`tally` keeps one duration per organisation).
    Rounded, so that two versions of a year's release do not show one case's effect."""
    if organisations < MEDIAN_MIN_ORGANISATIONS or len(durations) < MEDIAN_MIN_ORGANISATIONS:
        return None
    return round_to_base(int(2 * statistics.median(durations) + 1) // 2)


@dataclass
class Tally:
    """Per cell: distinct organisations, the sum of their record keys, and the most
    organisations complaining about any one respondent body."""

    counts: list[int]
    key_sums: list[int]
    top_body: list[int]
    durations: list[int]


# A respondent body and a part are counted together under one integer key.
_PART_BITS = 20
_PART_MASK = (1 << _PART_BITS) - 1


def tally(cases: Sequence[CaseStatistics | CaseRow], grid: CellGrid, dims: Dimensions) -> Tally:
    """Count distinct organisations per cell.

    Each case falls in at most two *parts* (see CellIndex): one from its dates, one from
    its region, body type, categories and outcome, each looked up once per distinct
    combination. An organisation with one case counts once in each cell its case falls in,
    so those cases are counted per part (and per part and respondent body, for dominance),
    and the few hundred parts are expanded into cells at the end. The parts of an
    organisation with several cases are gathered first and expanded into the set of cells
    they cover, so it counts once per cell however many of its cases fall there; its record
    key is that of its first case (in the order given).
    """
    index = CellIndex(grid, dims)
    by_dates: dict[tuple[date, date | None], tuple[int, int, bool]] = {}
    by_attributes: dict[tuple[str | None, str | None, tuple[str, ...], str | None], int] = {}
    pair_cases: list[int] = []
    # Each organisation's first case, as (record key, body, date part, attribute part or
    # -1), until a second comes and it is gathered in a _Several; an anonymous case (its
    # own organisation) goes straight to `singles`.
    singles: list[tuple[int, int | None, int, int]] = []
    units: dict[str, tuple[int, int | None, int, int] | _Several] = {}
    latest_closed: dict[str, tuple[date, int]] = {}
    case_unit = CASE_UNIT_PREFIX
    for unit, key, body, body_type, region, categories, result, submitted, closed in case_rows(
        cases
    ):
        found = by_dates.get((submitted, closed))
        if found is None:
            found = by_dates[submitted, closed] = index.dates(submitted, closed)
            pair_cases.append(0)
        dates_part, pair, attributed = found
        if dates_part < 0:
            continue
        if unit.startswith(case_unit):
            pair_cases[pair] += 1
        elif closed is not None:
            # One time to resolution per organisation (its latest closed case), or one
            # organisation's many cases could make the median theirs alone.
            latest = latest_closed.get(unit)
            if latest is None or closed > latest[0]:
                latest_closed[unit] = (closed, pair)
        attributes_part = -1
        if attributed:
            described = (region, body_type, categories, result)
            part = by_attributes.get(described)
            if part is None:
                part = by_attributes[described] = index.attributes(*described)
            attributes_part = part
        this = (key, body, dates_part, attributes_part)
        if unit.startswith(case_unit):
            singles.append(this)
            continue
        seen = units.setdefault(unit, this)
        if seen is this:
            continue
        if isinstance(seen, tuple):
            seen = units[unit] = _Several(*seen)
        seen.add(body, dates_part, attributes_part)
    parts = len(index.part_cells)
    if parts > _PART_MASK:
        raise AssertionError("more table parts than the tally can number")
    part_counts = [0] * parts
    part_keys = [0] * parts
    body_slots: list[int] = []
    several: list[_Several] = []
    for counted in chain(singles, units.values()):
        if not isinstance(counted, tuple):
            several.append(counted)
            continue
        key, body, dates_part, attributes_part = counted
        part_counts[dates_part] += 1
        part_keys[dates_part] += key
        if attributes_part >= 0:
            part_counts[attributes_part] += 1
            part_keys[attributes_part] += key
        if body is not None:
            body_slots.append((body << _PART_BITS) | dates_part)
            if attributes_part >= 0:
                body_slots.append((body << _PART_BITS) | attributes_part)
    size = len(grid.cell_ids)
    counts = [0] * size
    key_sums = [0] * size
    part_cells = index.part_cells
    for part, number in enumerate(part_counts):
        if number:
            key_sum = part_keys[part]
            for cell in part_cells[part]:
                counts[cell] += number
                key_sums[cell] += key_sum
    per_body: dict[int, list[int]] = {}
    for slot, number in Counter(body_slots).items():
        body = slot >> _PART_BITS
        cells_of_body = per_body.get(body)
        if cells_of_body is None:
            cells_of_body = per_body[body] = [0] * size
        for cell in part_cells[slot & _PART_MASK]:
            cells_of_body[cell] += number
    for organisation in several:
        key = organisation.key
        for cell in _cells_of(organisation.parts, part_cells):
            counts[cell] += 1
            key_sums[cell] += key
        for body, body_parts in organisation.by_body.items():
            cells_of_body = per_body.get(body)
            if cells_of_body is None:
                cells_of_body = per_body[body] = [0] * size
            for cell in _cells_of(body_parts, part_cells):
                cells_of_body[cell] += 1
    top_body = [max(column) for column in zip(*per_body.values(), strict=True)] or [0] * size
    for _, pair in latest_closed.values():
        pair_cases[pair] += 1
    durations_by_days: Counter[int] = Counter()
    for pair, number in enumerate(pair_cases):
        days = index.pair_days[pair]
        if number and days is not None:
            durations_by_days[days] += number
    durations = [days for days in sorted(durations_by_days) for _ in range(durations_by_days[days])]
    return Tally(counts, key_sums, top_body, durations)


class _Several:
    """An organisation with several cases: its record key (its first case's), the parts its
    cases fall in, and those parts per respondent body."""

    __slots__ = ("by_body", "key", "parts")

    def __init__(self, key: int, body: int | None, dates_part: int, attributes_part: int) -> None:
        self.key = key
        self.parts: set[int] = set()
        self.by_body: dict[int, set[int]] = {}
        self.add(body, dates_part, attributes_part)

    def add(self, body: int | None, dates_part: int, attributes_part: int) -> None:
        self.parts.add(dates_part)
        self.parts.add(attributes_part)
        if body is not None:
            of_body = self.by_body.get(body)
            if of_body is None:
                of_body = self.by_body[body] = set()
            of_body.add(dates_part)
            of_body.add(attributes_part)


def _cells_of(parts: set[int], part_cells: Sequence[tuple[int, ...]]) -> set[int]:
    """The cells an organisation's parts cover (-1, no part, covers none)."""
    cells: set[int] = set()
    for part in parts:
        if part >= 0:
            cells.update(part_cells[part])
    return cells


@dataclass(frozen=True)
class ProtectedCell:
    """A cell as published: its value (None when suppressed) and why it was suppressed."""

    value: int | None
    reason: str | None

    @property
    def suppressed(self) -> bool:
        return self.value is None


def primary_suppression(
    counts: Sequence[int], top_body: Sequence[int], suppressed_before: Collection[int] = ()
) -> dict[int, str]:
    """Cells hidden for what they are: small, dominated by one body, or hidden in an
    earlier release, whatever their count now. A cell hidden only to protect another is
    often large: published later (in a quarter's release after the year's, say), it
    would give back the small cell it protected by subtraction from the year's total."""
    reasons: dict[int, str] = {}
    for cell, count in enumerate(counts):
        if below_threshold(count):
            reasons[cell] = THRESHOLD_REASON
        elif dominated(count, top_body[cell]):
            reasons[cell] = DOMINANCE_REASON
    for cell in suppressed_before:
        if cell not in reasons:
            reasons[cell] = PERSISTENCE_REASON
    return reasons


class PinnedCell(ValueError):
    """A hidden cell stays pinned to a narrow interval and no more cells can be hidden to
    widen it (every cell around it was published by an earlier release)."""


def protect(
    grid: CellGrid,
    counted: Tally,
    *,
    previously_published: Collection[str] = (),
    previously_suppressed: Collection[str] = (),
    frozen: Mapping[str, int | None] | None = None,
    earlier_values: Mapping[str, Sequence[int]] | None = None,
    noise: dict[int, int] | None = None,
    ptable: PTable = DEFAULT_PTABLE,
    seed: bytes | None = None,
) -> list[ProtectedCell]:
    """Apply every rule to every cell. Earlier releases' published cells cannot be hidden
    to protect another; their suppressed cells stay hidden.

    `frozen` names cells an earlier release published whose organisations are counted
    the same now (see statistics_revisions): each is shown exactly as it was then (its
    value, or hidden), never computed again. `earlier_values` are figures earlier releases
    published of cells whose count is unchanged; they bound those cells as much as this
    release's own figures, so the bounds below take them in.
    `noise` replaces the cell-key adjustment on the cells it names (differential privacy
    on the national series); `seed` redraws every cell key (see cell_key).

    After complementary suppression, every hidden cell is bounded by integer linear
    programming over everything published (suppression_bounds) and more cells are hidden
    until none is pinned to within the rounding base. PinnedCell if that cannot be done."""
    frozen_cells = {grid.index[c]: v for c, v in (frozen or {}).items() if c in grid.index}
    before = [grid.index[c] for c in previously_suppressed if c in grid.index]
    before += [cell for cell, value in frozen_cells.items() if value is None]
    reasons = primary_suppression(counted.counts, counted.top_body, before)
    shown_before = {cell for cell, value in frozen_cells.items() if value is not None}
    for cell in shown_before:
        # A figure already published stays published: hiding it now would hide nothing.
        reasons.pop(cell, None)
    fixed = {grid.index[c] for c in previously_published if c in grid.index} | shown_before
    hidden = complementary_suppression(grid.lines, counted.counts, reasons, fixed)
    values: list[int] = []
    for cell, count in enumerate(counted.counts):
        value = frozen_cells.get(cell)
        if value is None:
            if noise is not None and cell in noise:
                adjusted = count + noise[cell]
            else:
                key = cell_key(counted.key_sums[cell], seed, grid.cell_ids[cell])
                adjusted = count + ptable.adjustment(count, key)
            value = max(THRESHOLD, round_to_base(adjusted))
        values.append(value)
    earlier = {
        grid.index[c]: tuple(v) for c, v in (earlier_values or {}).items() if c in grid.index
    }
    hidden = widen_hidden_intervals(
        grid,
        counted.counts,
        hidden,
        values,
        fixed=fixed,
        unbounded=set(noise or ()),
        earlier=earlier,
        ptable=ptable,
    )
    cells = []
    for cell, value in enumerate(values):
        if cell in hidden:
            cells.append(ProtectedCell(None, reasons.get(cell, COMPLEMENTARY_REASON)))
        else:
            cells.append(ProtectedCell(value, None))
    return cells


def widen_hidden_intervals(
    grid: CellGrid,
    counts: Sequence[int],
    hidden: set[int],
    values: Sequence[int],
    *,
    fixed: Collection[int],
    unbounded: Collection[int] = (),
    earlier: Mapping[int, Sequence[int]] | None = None,
    ptable: PTable = DEFAULT_PTABLE,
) -> set[int]:
    """Hide more cells until integer linear programming over every published figure (this
    release's `values` outside `hidden`, and the `earlier` figures of unchanged cells)
    leaves each hidden cell more than the rounding base of room. Figures with unbounded
    noise bound nothing. A hidden cell bounded by its own earlier figure is as pinned as
    that figure was when published, and is not checked."""
    earlier = earlier or {}
    hidden = set(hidden)
    exact = exact_lines(grid.lines, counts)
    largest = ptable.largest_adjustment

    def interval(value: int) -> Interval:
        return published_interval(value, threshold=THRESHOLD, largest_adjustment=largest)

    # Hiding a cell drops its figure's constraint, so a hidden cell found wide enough
    # stays so when more are hidden: each is checked until it is found wide once.
    wide: set[int] = set()
    while True:
        known: dict[int, Interval] = {}
        for cell in range(len(counts)):
            figures = list(earlier.get(cell, ()))
            if cell not in hidden and cell not in unbounded:
                figures.append(values[cell])
            for figure in figures:
                found = interval(figure)
                seen = known.get(cell)
                if seen is not None:
                    found = Interval(max(seen.low, found.low), min(seen.high, found.high))
                known[cell] = found
        checked = sorted(cell for cell in hidden if cell not in earlier and cell not in wide)
        narrow = narrow_hidden_cells(len(counts), grid.lines, exact, known, checked)
        wide.update(cell for cell in checked if cell not in narrow)
        if not narrow:
            return hidden
        target = min(narrow)
        choice = _nearest_candidate(grid, counts, target, hidden, set(fixed))
        if choice is None:
            raise PinnedCell(
                f"The hidden figure {grid.cell_ids[target]} would be pinned to within "
                f"{narrow[target] + 1} values by figures already published, and "
                "none of those can be hidden now."
            )
        hidden.add(choice)
        hidden = complementary_suppression(grid.lines, counts, hidden, fixed)


def _nearest_candidate(
    grid: CellGrid, counts: Sequence[int], target: int, hidden: set[int], fixed: set[int]
) -> int | None:
    """The cell to hide to give `target` more room: the best candidate of the lines through
    it, else of the lines through those lines' cells, and so on outwards (a hidden cell
    can be pinned by a published total two lines away, through non-negativity)."""
    reached = {target}
    seen_lines: set[int] = set()
    while True:
        around = [
            number
            for number, line in enumerate(grid.lines)
            if number not in seen_lines and reached.intersection(line.cells)
        ]
        if not around:
            return None
        seen_lines.update(around)
        lines = [grid.lines[number] for number in around]
        choice = best_candidate(lines, counts, hidden, fixed)
        if choice is not None:
            return choice
        for line in lines:
            reached.update(line.cells)


@dataclass(frozen=True)
class ComputedRelease:
    """The publishable content of a release, and what the service records beside it."""

    period: Period
    tables: list[dict[str, object]]
    median_days_to_resolution: int | None
    epsilon: float | None

    def content(self) -> dict[str, object]:
        """Exactly what the SHA-256 covers."""
        return {
            "period": self.period.label,
            "median_days_to_resolution": self.median_days_to_resolution,
            "tables": self.tables,
        }


def compute_release(
    cases: Sequence[CaseStatistics | CaseRow],
    period: Period,
    dims: Dimensions,
    *,
    previously_published: Collection[str] = (),
    previously_suppressed: Collection[str] = (),
    frozen: Mapping[str, int | None] | None = None,
    earlier_values: Mapping[str, Sequence[int]] | None = None,
    noise_plan: NoisePlan | None = None,
    noise_source: NoiseSource | None = None,
    ptable: PTable = DEFAULT_PTABLE,
    seed: bytes | None = None,
    counted: Tally | None = None,
) -> ComputedRelease:
    """Compute a release's tables from the cases' statistical inputs. Without noise the
    result depends only on the data: the same inputs give byte-for-byte the same tables."""
    grid = build_grid(period, dims)
    if counted is None:
        counted = tally(cases, grid, dims)
    noise = None
    if noise_plan is not None:
        if noise_source is None:
            raise ValueError("a noise plan needs a noise source")
        national = grid.national_cells()
        true_counts = [counted.counts[cell] for cell in national]
        noisy = noise_source(true_counts, noise_plan.scale)
        noise = {cell: n - t for cell, n, t in zip(national, noisy, true_counts, strict=True)}
    cells = protect(
        grid,
        counted,
        previously_published=previously_published,
        previously_suppressed=previously_suppressed,
        frozen=frozen,
        earlier_values=earlier_values,
        noise=noise,
        ptable=ptable,
        seed=seed,
    )
    tables: list[dict[str, object]] = []
    for layout in grid.tables:
        rows: list[dict[str, object]] = []
        for dims_values, cell in layout.rows:
            published = cells[cell]
            rows.append(
                {**dims_values, "count": published.value, "suppressed": published.suppressed}
            )
        tables.append(
            {"name": layout.spec.name, "dimensions": list(layout.spec.dimensions), "rows": rows}
        )
    median = None
    if period.kind == YEAR:
        closed_total = grid.index[cell_id("closed", str(period.year))]
        # Only beside a published total: a median shown where the year's closures are
        # hidden would tell what the hidden cells do not.
        if not cells[closed_total].suppressed:
            median = median_days(counted.durations, counted.counts[closed_total])
    return ComputedRelease(
        period, tables, median, None if noise_plan is None else noise_plan.epsilon
    )
