"""Public pages: the landing page, privacy and accessibility statements."""

from __future__ import annotations

from flask import Blueprint, render_template

from mediation.web.access import public

blueprint = Blueprint("public", __name__)


@blueprint.route("/")
@public
def index() -> str:
    return render_template("public/index.html")


@blueprint.route("/privacy")
@public
def privacy() -> str:
    return render_template("public/privacy.html")


@blueprint.route("/accessibility")
@public
def accessibility() -> str:
    return render_template("public/accessibility.html")


@blueprint.route("/healthz")
@public
def health() -> tuple[str, int, dict[str, str]]:
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}
