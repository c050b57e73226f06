"""Fixtures for the privacy tests: those of the intake and casework tests, shared."""

from __future__ import annotations

from tests.casework.conftest import driver, staffed
from tests.intake.conftest import body_id, journey, officer

__all__ = ["body_id", "driver", "journey", "officer", "staffed"]
