"""A JSON request's body as the API reads it: an object, no unknown fields, documents sent
with it and the closing survey's answers, each refused with a problem document."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, request
from werkzeug.wrappers import Response

from mediation.services.intake_rules import FieldCheck, IntakeInvalid, Upload, parse_api_documents
from mediation.web.api.problems import problem
from mediation.web.client_limits import allowed, retry_after, within

SURVEY_RATINGS = ("satisfaction", "fairness", "relationship")
GZIP_MAGIC = b"\x1f\x8b"
# The most an operation that takes no documents reads: its longest text (20,000 characters,
# each up to six bytes as a JSON escape) many times over. Past it, the body is refused
# before it is parsed: 200,000 made-up fields cost their parse, not a refusal's.
SMALL_BODY = 256 * 1024


def _body_within(max_bytes: int | None) -> bytes | None:
    """The request's body; None when it is longer than `max_bytes`, read no further."""
    if max_bytes is None:
        return request.get_data(cache=True)
    if (request.content_length or 0) > max_bytes:
        return None
    chunks: list[bytes] = []
    size = 0
    while size <= max_bytes:  # a chunked body has no length to check first
        chunk = request.stream.read(max_bytes + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > max_bytes else b"".join(chunks)


def json_body(
    too_deep: str = "The JSON is nested too deeply to be read.",
    max_bytes: int | None = SMALL_BODY,
) -> Any | Response:
    """The request's JSON document, or a problem document saying exactly what is wrong with
    what was sent: its size (`max_bytes`; None for the app's MAX_CONTENT_LENGTH, for the
    operations that take documents), its Content-Type, a compressed body, bytes that are not
    UTF-8 (RFC 8259 JSON between systems is UTF-8), JSON that does not parse (where), or
    nesting too deep."""
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        return problem(
            415,
            f"Send the JSON uncompressed: a body with Content-Encoding `{encoding[:40]}` is "
            "not accepted.",
        )
    if not request.is_json:
        return problem(415, "Send a JSON object with Content-Type: application/json.")
    raw = _body_within(max_bytes)
    if raw is None and max_bytes is not None:
        return problem(
            413,
            f"The body is bigger than this operation takes: at most {max_bytes // 1024:,} KB. "
            "Nothing was done.",
        )
    raw = raw or b""
    if raw.startswith(GZIP_MAGIC):
        return problem(415, "Send the JSON uncompressed: this body is gzip-compressed.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return problem(
            400,
            f"The body is not UTF-8 text (byte {exc.start + 1:,} is not UTF-8): send the JSON "
            "encoded as UTF-8.",
        )
    try:
        return json.loads(text)
    except RecursionError:
        return problem(400, too_deep)
    except json.JSONDecodeError as exc:
        return problem(
            400,
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno:,}, column {exc.colno:,}.",
        )
    except ValueError:
        # Python refuses to turn more than 4,300 digits into an integer (CVE-2020-10735)
        # with a plain ValueError, not a JSONDecodeError: found in review as a 500.
        return problem(400, "The body is not valid JSON here: a number in it is too long.")


def json_object(max_bytes: int | None = SMALL_BODY) -> dict[str, Any] | Response:
    """The request's JSON object, or the problem document saying what is wrong (json_body)."""
    data = json_body(max_bytes=max_bytes)
    if isinstance(data, Response):
        return data
    if not isinstance(data, dict):
        return problem(400, f"Send a JSON object ({{...}}), not {_kind(data)}.")
    return data


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return "true, false or null"
    return "a number"


def unknown_fields(check: FieldCheck, data: dict[str, Any], known: set[str]) -> None:
    check.unknown(data, known)


def documents_sent(nothing_done: str, *, clean: bool = True) -> tuple[Upload, ...] | Response:
    """The documents of a JSON body (`{"documents": [...]}`, checked as at intake, and with
    `clean` a complainant's, cleaned as at intake), counted against the client's
    UPLOAD_RATE_LIMIT; or the refusal, titled `nothing_done`. A client whose limit is spent
    is refused before anything is read or cleaned: cleaning costs the server more than any
    other check."""
    if not within("UPLOAD_RATE_LIMIT"):
        return _too_many_documents(nothing_done)
    data = json_object(max_bytes=None)
    if isinstance(data, Response):
        return data
    try:
        check = FieldCheck()
        check.unknown(data, {"documents"})
        if check.errors:
            raise IntakeInvalid(check.errors)
        uploads = parse_api_documents(
            data.get("documents"), int(current_app.config["MAX_DOCUMENT_BYTES"]), clean=clean
        )
    except IntakeInvalid as exc:
        return problem(422, nothing_done, exc.errors)
    if not allowed("UPLOAD_RATE_LIMIT"):
        return _too_many_documents(nothing_done)
    return uploads


def _too_many_documents(nothing_done: str) -> Response:
    wait = retry_after("UPLOAD_RATE_LIMIT")
    response = problem(
        429,
        f"Too many documents sent from this client address. {nothing_done}",
        detail=f"Send them again in {wait} seconds.",
    )
    response.headers["Retry-After"] = str(wait)
    return response


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
