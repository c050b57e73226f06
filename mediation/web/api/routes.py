"""The JSON API for integration: file a complaint, and the OpenAPI document describing it."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for
from werkzeug.wrappers import Response

from mediation.extensions import csrf, database, db, limiter
from mediation.models.time import utcnow
from mediation.services import intake_idempotency
from mediation.services.errors import InvalidInput, ServiceError
from mediation.services.intake_rules import IntakeInvalid
from mediation.web.access import public
from mediation.web.api.json_input import json_body
from mediation.web.api.problems import api_request_limit, problem, too_many

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
# Machine clients send no CSRF token and no cookies: the API acts on no session.
csrf.exempt(blueprint)


def _api_limit() -> str:
    """Complaints filed per client: only a request that filed one counts (a refused or
    repeated request costs no key derivation, and a client fixing its mistakes or retrying
    after a lost answer must not be shut out by them)."""
    return str(current_app.config.get("API_RATE_LIMIT", "10 per hour;30 per day"))


def _filed(response: Response) -> bool:
    return response.status_code == 201


@blueprint.route("/complaints", methods=["POST"])
@limiter.limit(_api_limit, deduct_when=_filed, on_breach=too_many)
@limiter.limit(api_request_limit, on_breach=too_many)
@public
def file_complaint() -> Response:
    """File a complaint; the reference and passphrase are in this response and nowhere else."""
    # Taken as sent (a server joins repeated headers into one value, the same on a retry).
    key = request.headers.get(intake_idempotency.HEADER)
    data = json_body(too_deep="The JSON is nested too deeply to be a complaint.", max_bytes=None)
    if isinstance(data, Response):
        return data
    max_bytes = int(current_app.config["MAX_DOCUMENT_BYTES"])
    try:
        outcome = intake_idempotency.file_from_api(
            database(),
            data,
            key,
            max_document_bytes=max_bytes,
            now=utcnow(),
        )
    except IntakeInvalid as exc:
        db.session.rollback()
        return problem(422, "The complaint is not complete or not valid.", exc.errors)
    except intake_idempotency.IdempotencyKeyInvalid as exc:
        db.session.rollback()
        return problem(400, str(exc), {intake_idempotency.HEADER: str(exc)})
    except intake_idempotency.IdempotencyKeyReused as exc:
        db.session.rollback()
        return problem(422, str(exc), {intake_idempotency.HEADER: str(exc)})
    except intake_idempotency.IdempotencyKeyBusy as exc:
        db.session.rollback()
        response = problem(409, str(exc))
        response.headers["Retry-After"] = "5"
        return response
    except InvalidInput as exc:
        db.session.rollback()
        return problem(422, "The complaint is not complete or not valid.", {"": str(exc)})
    except ServiceError as exc:
        db.session.rollback()
        return problem(503, str(exc))
    if isinstance(outcome, intake_idempotency.AlreadyFiled):
        db.session.commit()  # an expired key found on the way may have been forgotten
        return _already_filed(outcome)
    # Read before the commit, which expires the case: reading it afterwards would begin a
    # second transaction (a SELECT and its COMMIT) only to fetch what was just written.
    status, submitted_on = outcome.case.state, outcome.case.submitted_on
    db.session.commit()
    response = jsonify(
        {
            "reference": outcome.reference,
            "passphrase": outcome.passphrase,
            "status": status,
            "submitted_on": submitted_on.isoformat(),
            "sign_in_url": url_for("complainant.sign_in", _external=True),
            # What was removed from each document before it was sealed.
            "documents": [{"name": name, **note.as_dict()} for name, note in outcome.cleaned],
        }
    )
    response.status_code = 201
    return response


def _already_filed(earlier: intake_idempotency.AlreadyFiled) -> Response:
    """A repeat of a request that filed a complaint: where it is, but never its passphrase."""
    return problem(
        409,
        "This complaint was filed already, by an earlier request with the same "
        "Idempotency-Key. Nothing new was filed.",
        detail=(
            f"It was filed as {earlier.reference}. Its passphrase was given only in the "
            "answer to that first request and is not shown again, by design: give the "
            "complainant the passphrase from that answer. Nobody can recover a lost "
            "passphrase; the complainant can then file a new complaint saying it repeats "
            "this one."
        ),
        reference=earlier.reference,
        submitted_on=earlier.submitted_on.isoformat(),
        sign_in_url=url_for("complainant.sign_in", _external=True),
    )


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
