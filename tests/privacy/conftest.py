"""Fixtures shared with the intake and casework tests, for the privacy tests here."""

from tests.casework.conftest import driver, staffed
from tests.intake.conftest import body_id, clock, journey, officer

__all__ = ["body_id", "clock", "driver", "journey", "officer", "staffed"]
