"""The gates' rule, without a store: free failures, doubling waits, a cap, a window."""

from __future__ import annotations

import itertools

from mediation.domain.backoff import Backoff

RULE = Backoff(free=3, first_seconds=1, max_seconds=30, window_seconds=3600)


def test_waits_double_after_the_free_failures_and_stop_at_the_cap() -> None:
    delays = [RULE.delay_after(n) for n in range(12)]
    assert delays == [0, 0, 0, 1, 2, 4, 8, 16, 30, 30, 30, 30]
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert RULE.delay_after(10**6) == 30  # no overflow, however many


def test_the_wait_runs_from_the_last_attempt_and_is_never_longer_than_the_cap() -> None:
    assert RULE.wait(0, 100.0, 100.0) == 0
    assert RULE.wait(2, 100.0, 100.0) == 0
    assert RULE.wait(5, 100.0, 101.5) == 2.5
    assert RULE.wait(50, 100.0, 100.0) == 30
    assert RULE.wait(50, 100.0, 130.0) == 0


def test_failures_are_forgotten_a_window_after_the_last() -> None:
    assert RULE.live(7, 0.0, 3600.0) == 7
    assert RULE.live(7, 0.0, 3600.5) == 0
    assert RULE.wait(7, 0.0, 3601.0) == 0
