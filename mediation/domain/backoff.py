"""Slowed guessing: after a few free failures each attempt waits twice as long as the last."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """How a gate slows attempts: `free` failures cost nothing, then each further attempt
    waits `first_seconds`, twice that, and so on up to `max_seconds`, counted from the last
    attempt. Failures older than `window_seconds` (counted from the last one) are forgotten.

    A gate never refuses for longer than `max_seconds`: it slows, it does not lock out."""

    free: int
    first_seconds: int
    max_seconds: int
    window_seconds: int

    def delay_after(self, failures: int) -> int:
        """Seconds to wait after this many recent failures: 0, then first, twice that … capped."""
        if failures < self.free:
            return 0
        # Past the cap the doubling no longer matters; bounding the shift keeps it cheap.
        shift = min(failures - self.free, 32)
        return min(self.max_seconds, self.first_seconds << shift)

    def wait(self, failures: int, last_at: float, now: float) -> float:
        """Seconds still to wait, given the count and the time of the last attempt counted."""
        if failures <= 0 or now - last_at > self.window_seconds:
            return 0.0
        return max(0.0, last_at + self.delay_after(failures) - now)

    def live(self, failures: int, last_at: float, now: float) -> int:
        """The count still in force: nothing once the window has passed since the last."""
        return failures if failures > 0 and now - last_at <= self.window_seconds else 0
