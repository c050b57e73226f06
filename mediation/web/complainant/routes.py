"""The complainant's side: the complaint form, the receipt, sign-in and the portal.

Every view is public (the complainant has no staff account) and checks its own CSRF
token through its form, so that an expired token re-shows the page with everything
typed instead of an error page.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from flask import Blueprint

from mediation.extensions import csrf

blueprint = Blueprint("complainant", __name__, url_prefix="/my-complaint")
csrf.exempt(blueprint)

# The views register themselves on the blueprint when imported; the disclosure statement
# pages (casework's statement.py) join in when that module exists.
for _module in ("intake_pages", "sign_in", "portal", "portal_actions", "statement"):
    if find_spec(f"mediation.web.complainant.{_module}") is not None:
        import_module(f"mediation.web.complainant.{_module}")
