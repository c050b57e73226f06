"""The public body's part of the JSON API: what its portal does, for the body's own case
system, with a token its member of staff made in the browser (`services.api_tokens`).

The token acts as that person and reaches exactly what their portal shows: the body's own
cases, each through the statement the complainant approved; never a narrative, a note or
an identity (unless the complainant chose "open"), and dates only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import jsonify, request, url_for
from werkzeug.wrappers import Response

from mediation.extensions import database, db, limiter
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services import api_tokens, case_access, respondents
from mediation.services.accounts import actor_for
from mediation.services.audit import record
from mediation.services.complaints import normalise_reference
from mediation.services.errors import ServiceError
from mediation.services.intake_rules import (
    FieldCheck,
)
from mediation.web.access import public
from mediation.web.api.json_input import documents_sent, json_object, survey_answers, unknown_fields
from mediation.web.api.problems import api_request_limit, problem, too_many
from mediation.web.api.routes import blueprint

_BEARER = re.compile(r"Bearer (\S+)")
DECLINE_REASON_LIMIT = 2000  # as the portal's form

View = Callable[..., Response | tuple[Response, int]]


def _unauthorised() -> Response:
    response = problem(
        401,
        "This request needs a live API token of a public body's member of staff.",
        detail=(
            "Make one on the service's website (API tokens, once signed in) and send it as "
            "'Authorization: Bearer <token>'. A token ends after 90 days, when revoked, and "
            "when its owner's account is reset or deactivated."
        ),
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="respondent"'
    return response


def with_token(view: View) -> View:
    """The view gets the public-body user the token acts as; otherwise a 401."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response | tuple[Response, int]:
        match = _BEARER.fullmatch(request.headers.get("Authorization", "").strip())
        user = api_tokens.user_of(database(), match.group(1), utcnow()) if match else None
        if user is None:
            return _unauthorised()
        db.session.commit()  # the day it was last used
        answer = view(user, *args, **kwargs)
        status = answer[1] if isinstance(answer, tuple) else answer.status_code
        if request.method == "POST" and status < 300 and match is not None:
            # What a token did, beside what its owner did: after a leak, which acts were
            # the token's. After the act's own commit (the audit head is locked last).
            record(
                database(),
                actor_for(user),
                "api_token.used",
                case_reference=normalise_reference(str(kwargs.get("reference", ""))),
                details={"token": api_tokens.fingerprint(match.group(1)), "call": view.__name__},
            )
            db.session.commit()
        return answer

    return wrapper


def _not_found() -> Response:
    return problem(404, "There is no such case of your organisation's.")


def _refused(exc: ServiceError, title: str) -> Response:
    db.session.rollback()
    if isinstance(exc, case_access.CaseNotFound):
        return _not_found()
    return problem(409, title, detail=str(exc))


@blueprint.route("/respondent/cases")
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@with_token
def respondent_cases(user: StaffUser) -> Response | tuple[Response, int]:
    """A page of the body's cases, those awaiting its reply first."""
    unknown = sorted(set(request.args) - {"page"})
    if unknown:
        return problem(
            400, "Only `page` can be given.", dict.fromkeys(unknown, "Unknown parameter.")
        )
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 0
    if page < 1:
        return problem(400, "The page must be a whole number from 1.", {"page": "From 1."})
    listed = respondents.cases_for(database(), user, page=page)
    return jsonify(
        {
            "page": listed.page,
            "pages": listed.pages,
            "total": listed.total,
            "cases": [
                {
                    "reference": row.reference,
                    "status_label": row.state,
                    "shared_on": row.statement_approved_on.isoformat()
                    if row.statement_approved_on
                    else None,
                    "reply_due_on": row.reply_due_on.isoformat() if row.reply_due_on else None,
                    "url": url_for("api.respondent_case", reference=row.reference, _external=True),
                }
                for row in listed.rows
            ],
        }
    )


@blueprint.route("/respondent/cases/<reference>")
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@with_token
def respondent_case(user: StaffUser, reference: str) -> Response | tuple[Response, int]:
    """One case as the body's portal shows it."""
    try:
        view = respondents.view(database(), user, reference)
    except case_access.CaseNotFound:
        return _not_found()
    return jsonify(
        {
            "reference": view.reference,
            # The portal's words only: a stage the body is not told of (triage, not
            # accepted) is "open", as its label says.
            "status": view.raw_state
            if view.raw_state in respondents.RESPONDENT_STATE_LABELS
            else "open",
            "status_label": view.state,
            "public_body": view.body_name,
            "statement": view.statement,
            "shared_on": view.statement_approved_on.isoformat()
            if view.statement_approved_on
            else None,
            "complainant": (
                {
                    "organisation": view.shared_identity.get("organisation"),
                    "contact_name": view.shared_identity.get("contact_name"),
                }
                if view.shared_identity
                else None
            ),
            "reply_due_on": view.reply_due_on.isoformat() if view.reply_due_on else None,
            "correspondence": [
                {
                    "on": m.sent_on.isoformat(),
                    "from": "you" if m.author_kind == "respondent" else "the mediation service",
                    "kind": m.kind,
                    "to_both_parties": m.audience == "both",
                    "text": m.body or "",
                }
                for m in view.correspondence
            ],
            "sessions": [
                {
                    "on": s.held_on.isoformat(),
                    "part_of_day": s.part_of_day,
                    "online": s.online,
                    "place": None if s.online else s.place,
                    "papers_due_on": s.papers_due_on.isoformat(),
                }
                for s in view.sessions
            ],
            "documents_sent": [
                {"on": d.uploaded_on.isoformat(), "stored_bytes": d.size} for d in view.documents
            ],
            "actions": view.actions,
            "survey_answered": view.survey_answered,
        }
    )


def _text_body(field: str, required: str) -> tuple[str, Response | None]:
    data = json_object()
    if isinstance(data, Response):
        return "", data
    check = FieldCheck()
    unknown_fields(check, data, {field})
    text = check.text(data, field, field, required=required, limit=respondents.REPLY_LIMIT)
    if check.errors:
        return "", problem(422, "Nothing was sent.", check.errors)
    return text, None


@blueprint.route("/respondent/cases/<reference>/reply", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@with_token
def respondent_reply(user: StaffUser, reference: str) -> Response | tuple[Response, int]:
    text, refused = _text_body("text", "Enter your reply.")
    if refused is not None:
        return refused
    try:
        message = respondents.reply(database(), user, reference, text)
    except ServiceError as exc:
        return _refused(exc, "Your reply was not sent.")
    db.session.commit()
    return jsonify({"sent_on": message.sent_on.isoformat()}), 201


@blueprint.route("/respondent/cases/<reference>/proposal", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@with_token
def respondent_proposal(user: StaffUser, reference: str) -> Response | tuple[Response, int]:
    text, refused = _text_body("text", "Enter your proposed resolution.")
    if refused is not None:
        return refused
    try:
        message = respondents.propose_resolution(database(), user, reference, text)
    except ServiceError as exc:
        return _refused(exc, "Your proposal was not sent.")
    db.session.commit()
    return jsonify({"sent_on": message.sent_on.isoformat()}), 201


@blueprint.route("/respondent/cases/<reference>/mediation", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@with_token
def respondent_mediation(user: StaffUser, reference: str) -> Response | tuple[Response, int]:
    """Agree to the mediation offered, or decline it with a reason."""
    data = json_object()
    if isinstance(data, Response):
        return data
    check = FieldCheck()
    unknown_fields(check, data, {"agree", "reason"})
    agree = data.get("agree")
    if not isinstance(agree, bool):
        check.add("agree", "Must be true (agree to mediation) or false (decline it).")
    reason = check.text(data, "reason", "reason", limit=DECLINE_REASON_LIMIT)
    if agree is False and not reason and "reason" not in check.errors:
        check.add("reason", "Say why you decline mediation.")
    if check.errors:
        return problem(422, "Your answer was not sent.", check.errors)
    try:
        respondents.answer_mediation(
            database(), user, reference, agree=agree is True, reason=reason
        )
    except ServiceError as exc:
        return _refused(exc, "Your answer was not sent.")
    db.session.commit()
    return jsonify({"agreed": agree is True})


@blueprint.route("/respondent/cases/<reference>/documents", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@with_token
def respondent_documents(user: StaffUser, reference: str) -> Response | tuple[Response, int]:
    """Documents for the service, sealed as they arrive: all of them, or none."""
    uploads = documents_sent("No document was sent.", clean=False)
    if isinstance(uploads, Response):
        return uploads
    try:
        for number, upload in enumerate(uploads, start=1):
            respondents.upload_document(
                database(),
                user,
                reference,
                upload.name,
                upload.content,
                notify=number == len(uploads),  # one email for the lot
            )
    except ServiceError as exc:
        return _refused(exc, "No document was sent.")
    db.session.commit()
    return jsonify({"sent": len(uploads)}), 201


@blueprint.route("/respondent/cases/<reference>/survey", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@with_token
def respondent_survey(user: StaffUser, reference: str) -> Response | tuple[Response, int]:
    data = json_object()
    if isinstance(data, Response):
        return data
    answers = survey_answers(data)
    if isinstance(answers, Response):
        return answers
    try:
        respondents.answer_survey(database(), user, reference, **answers)
    except ServiceError as exc:
        return _refused(exc, "Your answers were not recorded.")
    db.session.commit()
    return jsonify({"answered": True}), 201
