"""Demonstration cases in every workflow state, so that every role's pages look real."""

from __future__ import annotations

from sqlalchemy.orm import Session


def load(session: Session) -> str:
    """Load demo cases; returns a short summary for the CLI."""
    return "no demo cases yet"
