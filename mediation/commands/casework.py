"""Casework from the command line."""

from __future__ import annotations

from flask.cli import AppGroup

group = AppGroup("cases", help="Casework from the command line.")
