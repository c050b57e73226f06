"""Demonstration statistics: thousands of closed cases over several years, and releases."""

from __future__ import annotations

from sqlalchemy.orm import Session


def load(session: Session) -> str:
    """Load the statistical demo data; returns a short summary for the CLI."""
    return "no demo statistics yet"
