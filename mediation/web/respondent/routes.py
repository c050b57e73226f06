"""The respondents' portal: cases against the signed-in person's own body only."""

from __future__ import annotations

from flask import Blueprint, render_template

from mediation.domain.permissions import Permission
from mediation.web.access import requires, signed_in_user

blueprint = Blueprint("respondent", __name__, url_prefix="/respondent")


@blueprint.route("/")
@requires(Permission.RESPOND_FOR_BODY)
def cases() -> str:
    return render_template("respondent/cases.html", body=signed_in_user().respondent_body, cases=[])
