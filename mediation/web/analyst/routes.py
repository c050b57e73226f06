"""The analysts' dashboard: published statistics releases only, never a case."""

from __future__ import annotations

from flask import Blueprint, render_template

from mediation.domain.permissions import Permission
from mediation.web.access import requires

blueprint = Blueprint("analyst", __name__, url_prefix="/analyst")


@blueprint.route("/")
@requires(Permission.VIEW_STATISTICS_DASHBOARD)
def dashboard() -> str:
    return render_template("analyst/dashboard.html", releases=[])
