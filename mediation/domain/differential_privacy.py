"""Optional differential privacy on the national series: discrete Laplace noise from OpenDP,
with the privacy loss of each release computed by OpenDP's own privacy map and a budget.

The privacy unit is one complainant organisation's cases within one calendar year: every
release whose period falls in that year (its quarters, the year, and any correction)
spends from that year's budget, and a release that would overspend it is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from opendp.mod import Measurement

__all__ = [
    "NoisePlan",
    "NoiseSource",
    "PrivacyBudgetExceeded",
    "check_budget",
    "opendp_discrete_laplace",
    "plan_noise",
]


class PrivacyBudgetExceeded(ValueError):
    """A release would spend more privacy budget than its year has left."""


class NoiseSource(Protocol):
    def __call__(self, counts: Sequence[int], scale: float) -> list[int]: ...


@dataclass(frozen=True)
class NoisePlan:
    """The noise for one release: epsilon spent, the L1 sensitivity and the Laplace scale."""

    epsilon: float
    sensitivity: int
    scale: float


def _laplace(scale: float) -> Measurement:
    # Imported here: OpenDP is a large native library and most commands never need it.
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=scale
    )


def plan_noise(epsilon: float, sensitivity: int) -> NoisePlan:
    """The scale giving `epsilon` when one organisation can move `sensitivity` counts by one
    each; the epsilon recorded is the one OpenDP's privacy map certifies for that scale."""
    if not math.isfinite(epsilon) or epsilon <= 0:
        raise ValueError("epsilon must be a positive number")
    if sensitivity < 1:
        raise ValueError("sensitivity must be at least 1")
    scale = sensitivity / epsilon
    certified = float(_laplace(scale).map(sensitivity))  # type: ignore[no-untyped-call]
    return NoisePlan(epsilon=certified, sensitivity=sensitivity, scale=scale)


def opendp_discrete_laplace(counts: Sequence[int], scale: float) -> list[int]:
    """Add discrete Laplace noise: OpenDP's exact sampler, fed by OpenSSL's CSPRNG (the wheel
    is built with OpenDP's use-openssl feature)."""
    if not counts:
        return []
    return [int(value) for value in _laplace(scale)(list(counts))]


def check_budget(year: int, spent: float, requested: float, budget: float) -> None:
    """Refuse a release that would take the year's privacy loss over its budget."""
    # A tiny tolerance: budgets are sums of floats.
    if spent + requested > budget + 1e-9:
        left = max(0.0, budget - spent)
        raise PrivacyBudgetExceeded(
            f"This release would spend epsilon {requested:.2f} of the {year} privacy budget, "
            f"but only {left:.2f} of {budget:.2f} is left, so it is refused: the budget is "
            "what stops repeated noisy releases from being averaged back to the true figures."
        )
