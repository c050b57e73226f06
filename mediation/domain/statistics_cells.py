"""Which cells of a release each case falls in: the fast path of counting organisations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from mediation.domain.statistics_periods import YEAR
from mediation.domain.statistics_tables import (
    CLOSED,
    NOT_RECORDED,
    RECEIVED,
    RESOLUTION_BANDS,
    CellGrid,
    Dimensions,
    cell_id,
)


class CellIndex:
    """Which cells a case falls in, as a few *components* (sets of cells that always go
    together: the quarter and the year a case was received in; its region; its body type;
    its band; its categories with its outcome).

    Counting looks components up in two *parts* per case, each numbered once and cached by
    the caller: a date part (received, closed and band components, from the two dates) and
    an attribute part (region, body type, categories with outcome, for a case closed in a
    year's period). A million cases fall in a few hundred parts, so most of the counting is
    per part, and parts are expanded into cells at the end."""

    def __init__(self, grid: CellGrid, dims: Dimensions) -> None:
        self.grid = grid
        self.period = grid.period
        self.start, self.end = self.period.start, self.period.end
        self.is_year = self.period.kind == YEAR
        self.component_cells: list[tuple[int, ...]] = []
        # The cells of each part, by number.
        self.part_cells: list[tuple[int, ...]] = []
        self._parts: dict[tuple[int, ...], int] = {}
        # Days from submission to closure of each pair of dates numbered by `dates`
        # (None when the case did not close in the period).
        self.pair_days: list[int | None] = []
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
        self.component_cells.append(tuple(cells))
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

    def _part(self, components: tuple[int, ...]) -> int:
        found = self._parts.get(components)
        if found is None:
            found = len(self.part_cells)
            self.part_cells.append(
                tuple(cell for c in components for cell in self.component_cells[c])
            )
            self._parts[components] = found
        return found

    def dates(self, submitted: date, closed: date | None) -> tuple[int, int, bool]:
        """For a case's two dates: its date part (-1 when it falls in no cell), a new
        number for the pair of dates (its days to resolution go in `pair_days`), and
        whether its attribute part counts too (it closed in a year's period)."""
        found = []
        start, end = self.start, self.end
        if start <= submitted <= end:
            found.append(self.received_by_month[submitted.month])
        days = None
        closed_here = False
        if closed is not None and start <= closed <= end:
            closed_here = True
            found.append(self.closed_by_month[closed.month])
            days = (closed - submitted).days
            if self.is_year:
                band = self.band_starts[0][1]
                for first, band_id in self.band_starts:
                    if days >= first:
                        band = band_id
                found.append(self.bands[band])
            days = max(0, days)
        self.pair_days.append(days)
        part = self._part(tuple(found)) if found else -1
        return part, len(self.pair_days) - 1, closed_here and self.is_year

    def attributes(
        self,
        region: str | None,
        body_type: str | None,
        categories: tuple[str, ...],
        result: str | None,
    ) -> int:
        """The attribute part of a case closed in a year's period."""
        regions, body_types = self.regions, self.body_types
        return self._part(
            (
                regions.get(region, regions[NOT_RECORDED]),
                body_types.get(body_type, body_types[NOT_RECORDED]),
                self._category_outcome_component(categories, result),
            )
        )
