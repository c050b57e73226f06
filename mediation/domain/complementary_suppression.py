"""Complementary suppression: no suppressed cell can be worked out from rows, columns or totals.

Primary suppression hides small and dominated cells. On its own that is not enough: a
line (a row or column and its total) with one hidden cell gives it away by subtraction,
and so can a longer chain of lines (in a table with margins, hiding cells so that every
line has two is still not enough if the hidden cells hang together like a tree). So after
making sure every line has either no hidden cell or at least two, we check the whole system
of lines exactly: a hidden cell is exposed when its value follows from the published
figures by any combination of additions and subtractions (it is in the row space of the
equations). We keep hiding the smallest available cell until nothing is exposed.

Cells already published by an earlier release (`fixed`) cannot be hidden again, so they
are never chosen to protect another cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

from mediation.domain.statistics_tables import Line

__all__ = [
    "best_candidate",
    "complementary_suppression",
    "exposed_cells",
    "lines_with_single_suppression",
]


def lines_with_single_suppression(lines: Iterable[Line], suppressed: set[int]) -> list[Line]:
    """Lines where exactly one cell is hidden: the simplest way to recover a cell."""
    return [line for line in lines if sum(cell in suppressed for cell in line.cells) == 1]


def best_candidate(
    lines: Iterable[Line], counts: Sequence[int], suppressed: set[int], fixed: set[int]
) -> int | None:
    """The cell to hide next: not a total if possible, then the smallest, then the first."""
    best: tuple[bool, int, int] | None = None
    for line in lines:
        for cell in line.cells:
            if cell in suppressed or cell in fixed:
                continue
            rank = (cell == line.total, counts[cell], cell)
            if best is None or rank < best:
                best = rank
    return None if best is None else best[2]


def _protect_lines(
    lines: Sequence[Line], counts: Sequence[int], suppressed: set[int], fixed: set[int]
) -> None:
    """Hide one more cell in every line with a single hidden cell, until none is left."""
    hopeless: set[Line] = set()
    while True:
        changed = False
        for line in lines_with_single_suppression(lines, suppressed):
            if line in hopeless:
                continue
            choice = best_candidate([line], counts, suppressed, fixed)
            if choice is None:
                # Every other cell of the line was published by an earlier release: the
                # figure there was computed on older data and carries its own perturbation.
                hopeless.add(line)
                continue
            suppressed.add(choice)
            changed = True
        if not changed:
            return


def exposed_cells(lines: Iterable[Line], suppressed: set[int]) -> set[int]:
    """Hidden cells whose value follows exactly from the published cells and the lines."""
    basis: dict[int, dict[int, Fraction]] = {}  # pivot cell -> reduced row
    for line in lines:
        row: dict[int, Fraction] = {}
        for cell in line.members:
            if cell in suppressed:
                row[cell] = row.get(cell, Fraction(0)) + 1
        if line.total in suppressed:
            row[line.total] = row.get(line.total, Fraction(0)) - 1
        row = {cell: value for cell, value in row.items() if value}
        for pivot in [cell for cell in row if cell in basis]:
            factor = row.get(pivot)
            if not factor:
                continue
            for cell, value in basis[pivot].items():
                row[cell] = row.get(cell, Fraction(0)) - factor * value
            row = {cell: value for cell, value in row.items() if value}
        if not row:
            continue
        pivot = min(row)
        scale = row[pivot]
        row = {cell: value / scale for cell, value in row.items()}
        for other_pivot, other in basis.items():
            factor = other.get(pivot)
            if factor:
                for cell, value in row.items():
                    other[cell] = other.get(cell, Fraction(0)) - factor * value
                basis[other_pivot] = {c: v for c, v in other.items() if v}
        basis[pivot] = row
    # In reduced row echelon form, a unit vector is in the row space only as a basis row.
    return {pivot for pivot, row in basis.items() if len(row) == 1}


def complementary_suppression(
    lines: Sequence[Line],
    counts: Sequence[int],
    primary: Iterable[int],
    fixed: Iterable[int] = (),
) -> set[int]:
    """The cells to hide: the primary ones and enough others that none can be recovered."""
    suppressed = set(primary)
    frozen = set(fixed) - suppressed
    unprotectable: set[int] = set()
    while True:
        _protect_lines(lines, counts, suppressed, frozen)
        exposed = sorted(exposed_cells(lines, suppressed) - unprotectable)
        if not exposed:
            return suppressed
        target = exposed[0]
        around = [line for line in lines if target in line.cells]
        choice = best_candidate(around, counts, suppressed, frozen)
        if choice is None:
            # Only cells published earlier surround it; hiding more here cannot help.
            unprotectable.add(target)
            continue
        suppressed.add(choice)
