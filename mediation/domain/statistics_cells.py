"""Which cells of a release each case falls in: the fast path of counting organisations."""

from __future__ import annotations

from collections.abc import Iterable

from mediation.domain.statistics_periods import YEAR
from mediation.domain.statistics_tables import (
    CLOSED,
    NOT_RECORDED,
    RECEIVED,
    RESOLUTION_BANDS,
    CaseStatistics,
    CellGrid,
    Dimensions,
    cell_id,
)


class CellIndex:
    """Which cells a case falls in, as a few *components* (sets of cells that always go
    together: the quarter and the year a case was received in; its region; its body type;
    its band; its categories with its outcome). Components are numbered once and cached, so
    counting a case is a handful of integer look-ups."""

    def __init__(self, grid: CellGrid, dims: Dimensions) -> None:
        self.grid = grid
        self.period = grid.period
        self.start, self.end = self.period.start, self.period.end
        self.is_year = self.period.kind == YEAR
        self.component_cells: list[tuple[int, ...]] = []
        self.component_masks: list[int] = []
        year = str(self.period.year)
        index = grid.index
        self.received_by_month: dict[int, int] = {}
        self.closed_by_month: dict[int, int] = {}
        for quarter in self.period.quarters():
            received = [index[cell_id(RECEIVED, quarter.label)]]
            closed = [index[cell_id(CLOSED, quarter.label)]]
            if self.is_year:
                received.append(index[cell_id(RECEIVED, year)])
                closed.append(index[cell_id(CLOSED, year)])
            received_component = self._component(received)
            closed_component = self._component(closed)
            for month in range(quarter.start.month, quarter.end.month + 1):
                self.received_by_month[month] = received_component
                self.closed_by_month[month] = closed_component
        if not self.is_year:
            return
        self.regions = self._by_value("region", dims.region_values())
        self.body_types = self._by_value("body_type", dims.body_type_values())
        self.bands = self._by_value("band", tuple(b[0] for b in RESOLUTION_BANDS))
        self.band_starts = [(first, band_id) for band_id, _, first, _ in RESOLUTION_BANDS]
        self.known_categories = frozenset(dims.categories)
        self.known_results = frozenset(dims.results)
        self._category_outcome: dict[tuple[tuple[str, ...], str | None], int] = {}

    def _component(self, cells: Iterable[int]) -> int:
        cells = tuple(cells)
        mask = 0
        for cell in cells:
            mask |= 1 << cell
        self.component_cells.append(cells)
        self.component_masks.append(mask)
        return len(self.component_cells) - 1

    def _by_value(self, dim: str, values: Iterable[str]) -> dict[str | None, int]:
        year = str(self.period.year)
        found: dict[str | None, int] = {
            v: self._component([self.grid.index[cell_id(CLOSED, year, **{dim: v})]]) for v in values
        }
        if NOT_RECORDED in found:
            found[None] = found[NOT_RECORDED]
        return found

    def _category_outcome_component(self, categories: tuple[str, ...], result: str | None) -> int:
        key = (categories, result)
        found = self._category_outcome.get(key)
        if found is None:
            year = str(self.period.year)
            index = self.grid.index
            known = sorted({c for c in categories if c in self.known_categories})
            outcome = result if result in self.known_results else NOT_RECORDED
            cells = [index[cell_id(CLOSED, year, outcome=outcome)]]
            for category in known or [NOT_RECORDED]:
                cells.append(index[cell_id(CLOSED, year, category=category)])
                cells.append(index[cell_id(CLOSED, year, category=category, outcome=outcome)])
            found = self._component(cells)
            self._category_outcome[key] = found
        return found

    def components(self, case: CaseStatistics) -> list[int]:
        """The components (and so the cells) one case falls in; empty if none."""
        found = []
        start, end = self.start, self.end
        submitted = case.submitted_on
        if start <= submitted <= end:
            found.append(self.received_by_month[submitted.month])
        closed = case.closed_on
        if closed is None or not (start <= closed <= end):
            return found
        found.append(self.closed_by_month[closed.month])
        if not self.is_year:
            return found
        regions, body_types = self.regions, self.body_types
        found.append(regions.get(case.region, regions[NOT_RECORDED]))
        found.append(body_types.get(case.body_type, body_types[NOT_RECORDED]))
        days = (closed - submitted).days
        band = self.band_starts[0][1]
        for first, band_id in self.band_starts:
            if days >= first:
                band = band_id
        found.append(self.bands[band])
        found.append(self._category_outcome_component(case.categories, case.result))
        return found


def bits(mask: int) -> list[int]:
    """The positions of the set bits of a mask, lowest first."""
    found = []
    while mask:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found
