"""The ONS cell-key method: the same organisations in a cell always get the same perturbation.

Each organisation carries a random record key fixed when its first case was created. A
cell's key is the sum of its organisations' record keys modulo 256, and a perturbation
table (the p-table) turns the cell key into a small, unbiased adjustment. Because the key
depends only on *which* organisations are in the cell, a figure repeated in another table
or another release is perturbed identically, so averaging repeats learns nothing.

That consistency does not protect two versions of a release one changed case apart: the
figures without the case stay identical and those with it may move, which shows where the
case was. So the revisions policy (statistics_revisions) never shows a figure computed
again on changed data unless at least 10 organisations moved, and then redraws every
cell key with a fresh seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

KEY_SPACE = 256


def cell_key(record_key_sum: int, seed: bytes | None = None, cell: str = "") -> int:
    """The cell key: the sum of the cell's record keys modulo 256, shifted, when a release
    redraws its perturbation (a correction of many organisations), by a byte of a hash of
    the release's random seed and the cell's id, so that no figure keeps its earlier
    perturbation and a figure that moved cannot be told from one that did not."""
    if seed is None:
        return record_key_sum % KEY_SPACE
    shift = hashlib.sha256(seed + b"\x00" + cell.encode("utf-8")).digest()[0]
    return (record_key_sum + shift) % KEY_SPACE


@dataclass(frozen=True)
class PTableRow:
    """Perturbations for cells of at least `from_count`, as (first cell key, adjustment)."""

    from_count: int
    ranges: tuple[tuple[int, int], ...]

    def adjustment(self, key: int) -> int:
        chosen = self.ranges[0][1]
        for first_key, adjustment in self.ranges:
            if key >= first_key:
                chosen = adjustment
        return chosen


@dataclass(frozen=True)
class PTable:
    """Rows by count, lowest first; a count uses the last row whose from_count it reaches."""

    rows: tuple[PTableRow, ...]

    def adjustment(self, count: int, key: int) -> int:
        if not 0 <= key < KEY_SPACE:
            raise ValueError("a cell key is between 0 and 255")
        row = None
        for candidate in self.rows:
            if count >= candidate.from_count:
                row = candidate
        return 0 if row is None else row.adjustment(key)

    @property
    def largest_adjustment(self) -> int:
        return max(abs(a) for row in self.rows for _, a in row.ranges)

    def mean_adjustment(self, count: int) -> float:
        return sum(self.adjustment(count, key) for key in range(KEY_SPACE)) / KEY_SPACE


def _row(from_count: int, shares: Sequence[tuple[int, int]]) -> PTableRow:
    """Build a row from (adjustment, number of the 256 cell keys that get it)."""
    assert sum(share for _, share in shares) == KEY_SPACE
    ranges = []
    first = 0
    for adjustment, share in shares:
        ranges.append((first, adjustment))
        first += share
    return PTableRow(from_count, tuple(ranges))


# Unbiased (mean 0), at most 2 either way; cells under 10 are suppressed before it applies.
# Probabilities: -2 and +2 about 5% each, -1 and +1 about 20% each, 0 the other half.
DEFAULT_PTABLE = PTable((_row(0, ((-2, 13), (-1, 51), (0, 128), (1, 51), (2, 13))),))
