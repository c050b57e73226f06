"""The case officers' area: the queue of cases (built out by the casework issue)."""

from __future__ import annotations

from flask import Blueprint, render_template

from mediation.domain.permissions import Permission
from mediation.web.access import requires

blueprint = Blueprint("casework", __name__, url_prefix="/casework")


@blueprint.route("/")
@requires(Permission.VIEW_CASE_QUEUE)
def queue() -> str:
    return render_template("casework/queue.html", cases=[])
