"""Complaints from the command line."""

from __future__ import annotations

from flask.cli import AppGroup

group = AppGroup("complaints", help="Complaints from the command line.")
