"""The JSON API for integration: file a complaint, and the OpenAPI document describing it."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for
from werkzeug.wrappers import Response

from mediation.extensions import csrf, database, db, limiter
from mediation.services import intake
from mediation.services.errors import InvalidInput, ServiceError
from mediation.services.intake_rules import IntakeInvalid
from mediation.web.access import public

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
# Machine clients send no CSRF token and no cookies: the API acts on no session.
csrf.exempt(blueprint)


def _api_limit() -> str:
    return str(current_app.config.get("API_RATE_LIMIT", "10 per hour;30 per day"))


def _problem(status: int, title: str, errors: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"status": status, "title": title}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


@blueprint.route("/complaints", methods=["POST"])
@limiter.limit(_api_limit)
@public
def file_complaint() -> Response:
    """File a complaint; the reference and passphrase are in this response and nowhere else."""
    data = request.get_json(silent=True)
    if data is None:
        return _problem(
            415 if not request.is_json else 400,
            "Send the complaint as a JSON object with Content-Type: application/json.",
        )
    try:
        complaint = intake.complaint_from_json(
            data, max_document_bytes=int(current_app.config["MAX_DOCUMENT_BYTES"])
        )
        filed = intake.submit_complaint(database(), complaint, channel="api")
    except IntakeInvalid as exc:
        db.session.rollback()
        return _problem(422, "The complaint is not complete or not valid.", exc.errors)
    except InvalidInput as exc:
        db.session.rollback()
        return _problem(422, "The complaint is not complete or not valid.", {"": str(exc)})
    except ServiceError as exc:
        db.session.rollback()
        return _problem(503, str(exc))
    db.session.commit()
    response = jsonify(
        {
            "reference": filed.reference,
            "passphrase": filed.passphrase,
            "status": filed.case.state,
            "submitted_on": filed.case.submitted_on.isoformat(),
            "sign_in_url": url_for("complainant.sign_in", _external=True),
        }
    )
    response.status_code = 201
    return response


@cache
def _openapi_document() -> dict[str, Any]:
    text = resources.files("mediation.data").joinpath("openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@blueprint.route("/openapi.json")
@public
def openapi() -> Response:
    document = dict(_openapi_document())
    document["servers"] = [{"url": url_for("api.openapi", _external=True).rsplit("/", 1)[0]}]
    response = jsonify(document)
    response.headers["Cache-Control"] = "no-store"
    return response
