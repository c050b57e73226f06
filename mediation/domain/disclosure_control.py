"""Disclosure control for statistics releases: what may be published, and how.

The rules, applied to every cell of every release:
1. Count distinct complainant organisations, never cases (an anonymous case is its own).
2. Suppress a cell of fewer than 10 organisations.
3. Suppress a cell where one respondent body accounts for more than half the organisations.
4. Complementary suppression, so no suppressed cell follows from rows, columns or totals,
   this release's or any earlier one's; and a cell an earlier release suppressed stays
   suppressed until it has grown well past the threshold, so that two releases differing
   by one case never show a small cell crossing it.
5. Perturb the rest with the ONS cell-key method, then round to the nearest 5.
6. Percentages only from published counts, over a denominator of at least 20.
7. Time to resolution only in bands; a median only over at least 10 organisations.
8. Optionally, differential-privacy noise on the national series instead of the cell key.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from mediation.domain.cell_key import DEFAULT_PTABLE, PTable, cell_key
from mediation.domain.complementary_suppression import complementary_suppression
from mediation.domain.differential_privacy import NoisePlan, NoiseSource
from mediation.domain.statistics_cells import CellIndex, bits
from mediation.domain.statistics_periods import YEAR, Period
from mediation.domain.statistics_tables import (
    CaseStatistics,
    CellGrid,
    Dimensions,
    build_grid,
    cell_id,
)

THRESHOLD = 10
ROUNDING_BASE = 5
PERCENTAGE_MIN_DENOMINATOR = 20
MEDIAN_MIN_ORGANISATIONS = 10
CASE_UNIT_PREFIX = "case:"
# A cell suppressed before is published again only from THRESHOLD + this many organisations.
PERSISTENCE_MARGIN = 5

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
    """The median time to resolution in whole days, only over at least 10 organisations."""
    if organisations < MEDIAN_MIN_ORGANISATIONS or len(durations) < MEDIAN_MIN_ORGANISATIONS:
        return None
    return int(2 * statistics.median(durations) + 1) // 2


@dataclass
class Tally:
    """Per cell: distinct organisations, the sum of their record keys, and the most
    organisations complaining about any one respondent body."""

    counts: list[int]
    key_sums: list[int]
    top_body: list[int]
    durations: list[int]


_COMPONENT_BITS = 16
_COMPONENT_MASK = (1 << _COMPONENT_BITS) - 1


def tally(cases: Sequence[CaseStatistics], grid: CellGrid, dims: Dimensions) -> Tally:
    """Count distinct organisations per cell.

    An organisation with one case in the data counts once in each cell its case falls in,
    so those cases are counted per *component* (cells that always go together), and the
    few hundred components are expanded into cells at the end. The cases of an
    organisation with several cases are first merged into one set of cells (a bit mask),
    so it counts once per cell however many of its cases fall there.
    """
    index = CellIndex(grid, dims)
    start, end = grid.period.start, grid.period.end
    seen = Counter(case.unit for case in cases if not case.unit.startswith(CASE_UNIT_PREFIX))
    several = {unit for unit, number in seen.items() if number > 1}
    del seen
    capacity = 1 << _COMPONENT_BITS
    component_counts = [0] * capacity
    component_keys = [0] * capacity
    component_bodies: dict[int, int] = {}
    merged: dict[str, tuple[list[int], dict[int, int]]] = {}
    durations: list[int] = []
    components = index.components
    masks = index.component_masks
    for case in cases:
        found = components(case)
        if not found:
            continue
        closed = case.closed_on
        if closed is not None and start <= closed <= end:
            durations.append(max(0, (closed - case.submitted_on).days))
        if several and case.unit in several:
            mask = 0
            for component in found:
                mask |= masks[component]
            entry = merged.get(case.unit)
            if entry is None:
                entry = ([0, case.unit_key], {})
                merged[case.unit] = entry
            entry[0][0] |= mask
            if case.body is not None:
                entry[1][case.body] = entry[1].get(case.body, 0) | mask
            continue
        key = case.unit_key
        for component in found:
            component_counts[component] += 1
            component_keys[component] += key
        if case.body is not None:
            body = case.body << _COMPONENT_BITS
            for component in found:
                slot = body | component
                component_bodies[slot] = component_bodies.get(slot, 0) + 1
    if len(index.component_cells) > capacity:
        raise AssertionError("more table components than the tally can number")
    size = len(grid.cell_ids)
    counts = [0] * size
    key_sums = [0] * size
    per_body: Counter[tuple[int, int]] = Counter()
    for component, cells in enumerate(index.component_cells):
        number, key_sum = component_counts[component], component_keys[component]
        if number:
            for cell in cells:
                counts[cell] += number
                key_sums[cell] += key_sum
    for slot, number in component_bodies.items():
        body = slot >> _COMPONENT_BITS
        for cell in index.component_cells[slot & _COMPONENT_MASK]:
            per_body[cell, body] += number
    for (mask, key), bodies in merged.values():
        for cell in bits(mask):
            counts[cell] += 1
            key_sums[cell] += key
        for body, body_mask in bodies.items():
            for cell in bits(body_mask):
                per_body[cell, body] += 1
    top_body = [0] * size
    for (cell, _body), number in per_body.items():
        if number > top_body[cell]:
            top_body[cell] = number
    return Tally(counts, key_sums, top_body, sorted(durations))


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
    """Cells hidden for what they are: small, dominated by one body, or hidden before and
    not yet clearly past the threshold."""
    reasons: dict[int, str] = {}
    for cell, count in enumerate(counts):
        if below_threshold(count):
            reasons[cell] = THRESHOLD_REASON
        elif dominated(count, top_body[cell]):
            reasons[cell] = DOMINANCE_REASON
    for cell in suppressed_before:
        if cell not in reasons and counts[cell] < THRESHOLD + PERSISTENCE_MARGIN:
            reasons[cell] = PERSISTENCE_REASON
    return reasons


def protect(
    grid: CellGrid,
    counted: Tally,
    *,
    previously_published: Collection[str] = (),
    previously_suppressed: Collection[str] = (),
    noise: dict[int, int] | None = None,
    ptable: PTable = DEFAULT_PTABLE,
) -> list[ProtectedCell]:
    """Apply every rule to every cell. Earlier releases' published cells cannot be hidden
    to protect another; their suppressed cells stay hidden while still near the threshold.
    `noise` replaces the cell-key adjustment on the cells it names (differential privacy
    on the national series)."""
    before = [grid.index[c] for c in previously_suppressed if c in grid.index]
    reasons = primary_suppression(counted.counts, counted.top_body, before)
    fixed = [grid.index[c] for c in previously_published if c in grid.index]
    hidden = complementary_suppression(grid.lines, counted.counts, reasons, fixed)
    cells = []
    for cell, count in enumerate(counted.counts):
        if cell in hidden:
            cells.append(ProtectedCell(None, reasons.get(cell, COMPLEMENTARY_REASON)))
            continue
        if noise is not None and cell in noise:
            adjusted = count + noise[cell]
        else:
            adjusted = count + ptable.adjustment(count, cell_key(counted.key_sums[cell]))
        cells.append(ProtectedCell(max(THRESHOLD, round_to_base(adjusted)), None))
    return cells


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
    cases: Sequence[CaseStatistics],
    period: Period,
    dims: Dimensions,
    *,
    previously_published: Collection[str] = (),
    previously_suppressed: Collection[str] = (),
    noise_plan: NoisePlan | None = None,
    noise_source: NoiseSource | None = None,
    ptable: PTable = DEFAULT_PTABLE,
) -> ComputedRelease:
    """Compute a release's tables from the cases' statistical inputs. Without noise the
    result depends only on the data: the same inputs give byte-for-byte the same tables."""
    grid = build_grid(period, dims)
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
        noise=noise,
        ptable=ptable,
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
        median = median_days(counted.durations, counted.counts[closed_total])
    return ComputedRelease(
        period, tables, median, None if noise_plan is None else noise_plan.epsilon
    )
