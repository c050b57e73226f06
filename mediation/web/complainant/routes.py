"""The complainant's side: the complaint form, the receipt and the portal."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("complainant", __name__, url_prefix="/my-complaint")
