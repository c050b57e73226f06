"""Fixtures for the privacy tests: those of the intake and casework tests, shared."""

from tests.casework.conftest import driver, staffed
from tests.intake.conftest import body_id, clock, journey, officer

__all__ = ["body_id", "clock", "driver", "journey", "officer", "staffed"]
