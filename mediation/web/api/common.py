"""What the JSON API's modules share: its problem documents (RFC 9457), its request limit
and the 429 that refuses one, and the checks of a JSON body that more than one of its
callers makes."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, cast

from flask import Response as FlaskResponse
from flask import current_app, jsonify, request
from flask_limiter import RequestLimit
from werkzeug.wrappers import Response

from mediation.services.intake_rules import FieldCheck, IntakeInvalid, Upload, parse_api_documents
from mediation.web.client_limits import allowed, retry_after

View = Callable[..., Response | tuple[Response, int]]
SURVEY_RATINGS = ("satisfaction", "fairness", "relationship")


def api_request_limit() -> str:
    """Requests of any kind per client, refused ones included."""
    return str(current_app.config.get("API_REQUEST_LIMIT", "120 per hour"))


def too_many(limit: RequestLimit) -> FlaskResponse:
    """A 429 as the API's other refusals are, with the Retry-After its document promises."""
    wait = max(1, math.ceil(limit.window[0] - time.time()))
    nothing = "Nothing was filed." if request.endpoint == "api.file_complaint" else ""
    response = problem(
        429,
        f"Too many requests from this client address. {nothing or 'Nothing was changed.'}",
        detail=f"Try again in {wait} seconds.",
    )
    response.headers["Retry-After"] = str(wait)
    return cast(FlaskResponse, response)


def problem(
    status: int, title: str, errors: dict[str, str] | None = None, **extra: str
) -> Response:
    """A refusal as an `application/problem+json` document: its status and title, any
    other members given, and `errors` naming each field that was wrong."""
    body: dict[str, Any] = {"status": status, "title": title, **extra}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def json_object() -> dict[str, Any] | Response:
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if not isinstance(data, dict):
        return problem(
            415 if not request.is_json else 400,
            "Send a JSON object with Content-Type: application/json.",
        )
    return data


def unknown_fields(check: FieldCheck, data: dict[str, Any], known: set[str]) -> None:
    for key in sorted(set(data) - known):
        check.add(key, "Unknown field.")


def documents_sent(nothing_done: str) -> tuple[Upload, ...] | Response:
    """The documents of a JSON body (`{"documents": [...]}`, checked as at intake), counted
    against the client's UPLOAD_RATE_LIMIT; or the refusal, titled `nothing_done`."""
    data = json_object()
    if isinstance(data, Response):
        return data
    try:
        extra = sorted(set(data) - {"documents"})
        if extra:
            raise IntakeInvalid(dict.fromkeys(extra, "Unknown field."))
        uploads = parse_api_documents(
            data.get("documents"), int(current_app.config["MAX_DOCUMENT_BYTES"])
        )
    except IntakeInvalid as exc:
        return problem(422, nothing_done, exc.errors)
    if not allowed("UPLOAD_RATE_LIMIT"):
        wait = retry_after("UPLOAD_RATE_LIMIT")
        response = problem(
            429,
            f"Too many documents sent from this client address. {nothing_done}",
            detail=f"Send them again in {wait} seconds.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    return uploads


def survey_answers(data: dict[str, Any]) -> dict[str, Any] | Response:
    """The closing survey's answers as the services take them (three ratings from 1 to 5
    and `would_use_again`), or the 422 naming each one wrong."""
    check = FieldCheck()
    unknown_fields(check, data, {*SURVEY_RATINGS, "would_use_again"})
    answers: dict[str, Any] = {}
    for name in SURVEY_RATINGS:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            check.add(name, "Give a rating from 1 (very poor) to 5 (very good).")
        else:
            answers[name] = value
    answers["would_use_again"] = data.get("would_use_again")
    if not isinstance(answers["would_use_again"], bool):
        check.add("would_use_again", "Must be true or false.")
    if check.errors:
        return problem(422, "Your answers were not recorded.", check.errors)
    return answers
