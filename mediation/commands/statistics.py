"""Statistics releases."""

from __future__ import annotations

from flask.cli import AppGroup

group = AppGroup("stats", help="Statistics releases.")
