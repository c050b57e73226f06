"""A JSON request's body as the API reads it: an object, no unknown fields, documents sent
with it and the closing survey's answers, each refused with a problem document."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from werkzeug.wrappers import Response

from mediation.services.intake_rules import FieldCheck, IntakeInvalid, Upload, parse_api_documents
from mediation.web.api.problems import problem
from mediation.web.client_limits import allowed, retry_after

SURVEY_RATINGS = ("satisfaction", "fairness", "relationship")


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


def documents_sent(nothing_done: str, *, clean: bool = True) -> tuple[Upload, ...] | Response:
    """The documents of a JSON body (`{"documents": [...]}`, checked as at intake, and with
    `clean` a complainant's, cleaned as at intake), counted against the client's
    UPLOAD_RATE_LIMIT; or the refusal, titled `nothing_done`."""
    data = json_object()
    if isinstance(data, Response):
        return data
    try:
        extra = sorted(set(data) - {"documents"})
        if extra:
            raise IntakeInvalid(dict.fromkeys(extra, "Unknown field."))
        uploads = parse_api_documents(
            data.get("documents"), int(current_app.config["MAX_DOCUMENT_BYTES"]), clean=clean
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
