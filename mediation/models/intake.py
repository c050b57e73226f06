"""Complaint intake: drafts kept sealed between pages, breaches, complainant sessions."""

from __future__ import annotations
