"""Refusals as the JSON API gives them: problem documents, and its request limit's 429."""

from __future__ import annotations

import math
import time
from typing import Any, cast

from flask import Response as FlaskResponse
from flask import current_app, jsonify, request
from flask_limiter import RequestLimit
from werkzeug.wrappers import Response


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
