"""Public statistics: releases, charts, open data and the methodology."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("statistics", __name__, url_prefix="/statistics")
