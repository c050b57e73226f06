"""The mediators' area: cases assigned to the signed-in mediator."""

from __future__ import annotations

from flask import Blueprint, render_template

from mediation.domain.permissions import Permission
from mediation.web.access import requires

blueprint = Blueprint("mediator", __name__, url_prefix="/mediator")


@blueprint.route("/")
@requires(Permission.WORK_ASSIGNED_CASES)
def cases() -> str:
    return render_template("mediator/cases.html", cases=[])
