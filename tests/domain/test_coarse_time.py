"""The outbox's delivery grid: a due time says only the hour of the act, evenly."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from mediation.domain.coarse_time import (
    delivery_slot,
    delivery_slots,
    grid_ceil,
    grid_floor,
)

GRID = timedelta(minutes=15)
EARLIEST = timedelta(minutes=5)
LATEST = timedelta(minutes=65)


def test_grid_rounding_lands_on_quarter_hours_from_midnight() -> None:
    moment = datetime(2026, 12, 7, 14, 37, 12, 345678, tzinfo=UTC)
    assert grid_floor(moment, GRID) == datetime(2026, 12, 7, 14, 30, tzinfo=UTC)
    assert grid_ceil(moment, GRID) == datetime(2026, 12, 7, 14, 45, tzinfo=UTC)
    boundary = datetime(2026, 12, 7, 14, 45, tzinfo=UTC)
    assert grid_floor(boundary, GRID) == grid_ceil(boundary, GRID) == boundary
    naive = datetime(2026, 12, 7, 23, 59, 59)
    assert grid_ceil(naive, GRID) == datetime(2026, 12, 8, tzinfo=UTC)


def test_every_slot_is_a_boundary_within_the_delay_range() -> None:
    slots = delivery_slots(EARLIEST, LATEST, GRID)
    assert slots == 4
    assert delivery_slots(timedelta(minutes=5), timedelta(minutes=60), GRID) == 3
    assert delivery_slots(timedelta(minutes=5), timedelta(minutes=10), GRID) == 1
    act = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    for second in range(0, 2 * 3600, 7):
        moment = act + timedelta(seconds=second, microseconds=second * 13 % 1_000_000)
        for slot in range(slots):
            due = delivery_slot(moment, earliest=EARLIEST, grid=GRID, slot=slot)
            assert due == grid_floor(due, GRID)
            assert EARLIEST <= due - moment < LATEST


def test_a_due_time_leaves_the_act_anywhere_in_its_hour_equally_likely() -> None:
    """For one due time N, count, over acts a second apart, the slots that reach N: every
    act in the 60 minutes up to N - 5 minutes reaches it by exactly one of the 4 equally
    likely slots, and no other act does, so N tells nothing finer than that hour."""
    slots = delivery_slots(EARLIEST, LATEST, GRID)
    due = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
    start = due - timedelta(hours=3)
    reach: Counter[datetime] = Counter()
    for second in range(3 * 3600):
        act = start + timedelta(seconds=second)
        for slot in range(slots):
            if delivery_slot(act, earliest=EARLIEST, grid=GRID, slot=slot) == due:
                reach[act] += 1
    window = [act for act in reach if reach[act]]
    assert min(window) == due - LATEST + timedelta(seconds=1)
    assert max(window) == due - EARLIEST
    assert len(window) == 3600  # the whole hour, every second of it
    assert set(reach.values()) == {1}  # each with the same chance, 1 in 4
