"""The statistics tests' case officer, for the privacy tests."""

from tests.statistics.conftest import officer

__all__ = ["officer"]
