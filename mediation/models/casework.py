"""Casework: triage, the panel's routing, clocks, disclosure statements, sessions and outcomes."""

from __future__ import annotations
