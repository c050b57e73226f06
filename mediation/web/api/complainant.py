"""The complainant's part of the JSON API: everything the portal does, for a script.

Sign in with the case reference and passphrase (`POST /complainant/sessions`), then follow
the case as the portal shows it (status, the service's dates, the timeline, messages,
documents, the disclosure log and the statement for the public body) and act on it: send a
message, add documents, answer the statement, withdraw, contest a closure or report being
treated badly since complaining.

A sign-in answers with a bearer token: the id of the row that holds the passphrase-derived
key, sealed, and the only key that opens it, as the portal's session cookie holds them.
Nothing the server keeps opens the case without it. The token goes in the Authorization
header only, never in a URL; like the portal's session it idles out after 30 minutes and
ends after 12 hours at most, and `DELETE /complainant/session` ends it at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, jsonify, request, url_for
from werkzeug.wrappers import Response

from mediation.domain import workflow
from mediation.extensions import client_address, database, db, limiter
from mediation.models.cases import Case
from mediation.models.time import utcnow
from mediation.services import (
    complainant_portal,
    complainant_sessions,
    complaints,
    disclosure_statements,
    identity_access,
    outcomes,
)
from mediation.services.complainant_sessions import ComplainantTicket, SignInThrottled
from mediation.services.complaints import UnknownCaseOrPassphrase
from mediation.services.errors import ServiceError
from mediation.services.identity_access import LEVELS
from mediation.services.intake_rules import (
    LONG_TEXT,
    MAX_ID,
    FieldCheck,
    IntakeInvalid,
    content_type_for,
    parse_api_identity,
)
from mediation.vault import KeyPair, VaultError
from mediation.web.access import public
from mediation.web.api.json_input import documents_sent, json_object, survey_answers, unknown_fields
from mediation.web.api.problems import api_request_limit, problem, too_many
from mediation.web.api.routes import blueprint
from mediation.web.downloads import attachment

# "Bearer <session id>.<key>": the id is 64 hex digits, the key unpadded URL-safe base64.
_BEARER = re.compile(r"Bearer ([0-9a-f]{64})\.([A-Za-z0-9_-]{20,100})")

View = Callable[..., Response | tuple[Response, int]]


def _ticket() -> ComplainantTicket | None:
    match = _BEARER.fullmatch(request.headers.get("Authorization", "").strip())
    return ComplainantTicket(match.group(1), match.group(2)) if match else None


def _unauthorised(title: str) -> Response:
    response = problem(
        401,
        title,
        detail=(
            "Sign in with POST /api/v1/complainant/sessions and send the token it gives as "
            "'Authorization: Bearer <token>'. A session ends after 30 minutes without a "
            "request, and after 12 hours at most."
        ),
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="complainant"'
    return response


def signed_in(view: View) -> View:
    """The view gets the signed-in complainant's case and passphrase-derived key; without
    a live session, a 401 and nothing else."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response | tuple[Response, int]:
        found = complainant_sessions.current(database(), _ticket(), utcnow())
        if found is None:
            return _unauthorised("You are not signed in, or your session has ended.")
        db.session.commit()  # the idle clock moved on
        return view(found[0], found[1], *args, **kwargs)

    return wrapper


@blueprint.route("/complainant/sessions", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
def complainant_sign_in() -> Response | tuple[Response, int]:
    """Sign in with the reference and passphrase; the token is in this answer only."""
    data = json_object()
    if isinstance(data, Response):
        return data
    check = FieldCheck()
    unknown_fields(check, data, {"reference", "passphrase"})
    reference = check.text(
        data, "reference", "reference", required="Enter your case reference.", limit=40
    )
    passphrase = check.text(
        data, "passphrase", "passphrase", required="Enter your passphrase.", limit=300
    )
    if check.errors:
        return problem(422, "Signing in needs the case reference and passphrase.", check.errors)
    try:
        ticket = complainant_sessions.sign_in(
            database(), reference, passphrase, client_address(), utcnow()
        )
    except SignInThrottled as exc:
        db.session.rollback()
        response = problem(429, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except UnknownCaseOrPassphrase as exc:
        # Counted before the passphrase was tried, in the shared store: nothing to keep.
        return _unauthorised(str(exc))
    db.session.commit()
    return jsonify(
        {
            "token": f"{ticket.session_id}.{ticket.cookie_key}",
            "token_type": "Bearer",
            "idle_timeout_seconds": int(complainant_sessions.IDLE_TIMEOUT.total_seconds()),
            "longest_seconds": int(complainant_sessions.SESSION_CAP.total_seconds()),
            "complaint_url": url_for("api.complainant_complaint", _external=True),
        }
    ), 201


@blueprint.route("/complainant/session", methods=["DELETE"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
def complainant_sign_out() -> tuple[str, int]:
    """End the session: the held key is forgotten. Always 204; only the whole token (the
    key with the row's id) ends a session."""
    ticket = _ticket()
    if complainant_sessions.current(database(), ticket, utcnow()) is not None:
        complainant_sessions.sign_out(database(), ticket)
    db.session.commit()
    return "", 204


def _closed(exc: Exception) -> Response:
    """The case can no longer be opened (its keys were destroyed after the retention time)."""
    return problem(410, str(exc) or "This case can no longer be opened.")


@blueprint.route("/complainant/complaint")
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@signed_in
def complainant_complaint(case: Case, key: KeyPair) -> Response | tuple[Response, int]:
    """The case as the portal shows it."""
    try:
        view = complainant_portal.portal(database(), case, key)
        statement = disclosure_statements.for_complainant(database(), case, key)
    except (ServiceError, VaultError) as exc:
        return _closed(exc)
    awaiting = None
    if statement.awaiting is not None:
        awaiting = {
            "id": statement.awaiting.id,
            "text": statement.awaiting_text,
            "digest": statement.awaiting_digest,
        }
    return jsonify(
        {
            "reference": case.reference,
            "status": case.state,
            "status_label": view.state_label,
            "openness": case.openness,
            "submitted_on": case.submitted_on.isoformat(),
            "public_body": view.body_name,
            "breaches": view.breaches,
            "service_dates": [
                {
                    "promise": item.promise,
                    "due": item.due.isoformat(),
                    "done_on": item.done_on.isoformat() if item.done_on else None,
                    "paused": item.paused,
                }
                for item in view.service_dates
            ],
            "timeline": [{"on": e.on.isoformat(), "text": e.text} for e in view.timeline],
            "messages": [
                {"on": m.on.isoformat(), "author": m.author, "mine": m.mine, "text": m.text}
                for m in view.messages
            ],
            "documents": [
                {
                    "id": d.id,
                    "name": d.name,
                    "uploaded_on": d.uploaded_on.isoformat(),
                    "by": d.by,
                    "url": url_for("api.complainant_document", document_id=d.id, _external=True),
                    # What was removed before it was sealed (null: not cleaned, as for a
                    # file added before documents were, or the service's own).
                    "cleaning": d.cleaning.as_dict() if d.cleaning else None,
                }
                for d in view.documents
            ],
            "disclosures": [
                {"on": d.on.isoformat(), "who": d.who, "what": d.what, "why": d.why}
                for d in view.disclosures
            ],
            "statement": {
                "status": view.statement,
                "awaiting": awaiting,
                # What the public body can read now, as the portal shows it.
                "approved": (
                    {"id": statement.approved.id, "text": statement.approved.approved_text}
                    if statement.approved is not None
                    else None
                ),
            },
            "actions": sorted(view.actions),
        }
    )


@blueprint.route("/complainant/messages", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@signed_in
def complainant_message(case: Case, _key: KeyPair) -> Response | tuple[Response, int]:
    data = json_object()
    if isinstance(data, Response):
        return data
    check = FieldCheck()
    unknown_fields(check, data, {"text"})
    text = check.text(data, "text", "text", required="Enter your message.", limit=LONG_TEXT)
    if check.errors:
        return problem(422, "The message was not sent.", check.errors)
    try:
        message = complainant_portal.send_message(database(), case, text)
    except ServiceError as exc:
        db.session.rollback()
        return problem(422, "The message was not sent.", {"text": str(exc)})
    db.session.commit()
    return jsonify({"sent_on": message.sent_on.isoformat()}), 201


@blueprint.route("/complainant/documents", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@signed_in
def complainant_documents(case: Case, _key: KeyPair) -> Response | tuple[Response, int]:
    """Add documents to the case: every one of them, or (when one is refused) none."""
    uploads = documents_sent("No document was added.")
    if isinstance(uploads, Response):
        return uploads
    config = current_app.config
    limits = complainant_portal.CaseDocumentLimits(
        per_file=int(config["MAX_DOCUMENT_BYTES"]),
        documents=int(config["MAX_CASE_DOCUMENTS"]),
        total_bytes=int(config["MAX_CASE_DOCUMENT_BYTES"]),
    )
    for index, upload in enumerate(uploads):
        try:
            complainant_portal.add_upload(database(), case, upload, limits=limits)
        except ServiceError as exc:
            db.session.rollback()
            return problem(422, "No document was added.", {f"documents[{index}]": str(exc)})
    db.session.commit()
    added = [{"name": u.name, **u.cleaning.as_dict()} for u in uploads if u.cleaning]
    return jsonify({"added": len(uploads), "documents": added}), 201


@blueprint.route("/complainant/documents/<int:document_id>")
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@signed_in
def complainant_document(
    case: Case, key: KeyPair, document_id: int
) -> Response | tuple[Response, int]:
    """A document on the case, always as a download."""
    try:
        case_key = complaints.complainant_case_key(case, key)
        name, content = complainant_portal.read_document(database(), case, case_key, document_id)
    except (ServiceError, VaultError):
        return problem(404, "There is no such document on your case.")
    response = current_app.response_class(content, mimetype=content_type_for(name))
    response.headers["Content-Disposition"] = attachment(name)
    return response


@blueprint.route("/complainant/statement", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@signed_in
def complainant_statement(case: Case, key: KeyPair) -> Response | tuple[Response, int]:
    """Approve the statement waiting for you (the public body may then read it), or ask
    for changes. `digest` is the one given with the text: an answer to a text that has
    changed since is refused."""
    data = json_object()
    if isinstance(data, Response):
        return data
    check = FieldCheck()
    unknown_fields(check, data, {"statement_id", "digest", "approve", "change_request"})
    statement_id = data.get("statement_id")
    if (
        not isinstance(statement_id, int)
        or isinstance(statement_id, bool)
        or not 0 < statement_id <= MAX_ID
    ):
        check.add("statement_id", "Give the id of the statement waiting for you.")
    digest = check.text(data, "digest", "digest", required="Give the statement's digest.")
    approve = data.get("approve")
    if not isinstance(approve, bool):
        check.add("approve", "Must be true (approve) or false (ask for changes).")
    change_request = check.text(data, "change_request", "change_request", limit=3000)
    if approve is False and not change_request and "change_request" not in check.errors:
        check.add("change_request", "Say what should change.")
    if check.errors:
        return problem(422, "Your answer was not recorded.", check.errors)
    assert isinstance(statement_id, int) and isinstance(approve, bool)
    try:
        row = disclosure_statements.complainant_answers(
            database(),
            case,
            key,
            statement_id,
            approve=approve,
            shown_digest=digest,
            change_request=change_request,
        )
    except ServiceError as exc:
        db.session.rollback()
        return problem(409, str(exc))
    db.session.commit()
    return jsonify({"statement_id": row.id, "status": row.status})


def _act(case: Case, action: str, reason: str, kind: str | None = None) -> Response:
    if action not in complainant_portal.available_actions(case):
        return problem(
            409,
            "Your case is not at a stage where you can do that.",
            detail=f"Its status is: {workflow.STATES.get(case.state, case.state)}.",
        )
    try:
        if kind is not None:
            complainant_portal.report_adverse_treatment(database(), case, kind, reason)
        else:
            complainant_portal.act(database(), case, action, reason)
    except ServiceError as exc:
        db.session.rollback()
        return problem(409, str(exc))
    db.session.commit()
    label = workflow.STATES.get(case.state, case.state)
    return jsonify({"status": case.state, "status_label": label})


@blueprint.route("/complainant/withdraw", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@signed_in
def complainant_withdraw(case: Case, _key: KeyPair) -> Response | tuple[Response, int]:
    data = json_object()
    if isinstance(data, Response):
        return data
    check = FieldCheck()
    unknown_fields(check, data, {"confirm", "reason"})
    if data.get("confirm") is not True:
        check.add("confirm", "Send true to confirm that you want to withdraw your complaint.")
    reason = check.text(data, "reason", "reason", limit=LONG_TEXT)
    if check.errors:
        return problem(422, "Your complaint was not withdrawn.", check.errors)
    return _act(case, "withdraw", reason)


@blueprint.route("/complainant/contest-closure", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@signed_in
def complainant_contest(case: Case, _key: KeyPair) -> Response | tuple[Response, int]:
    data = json_object()
    if isinstance(data, Response):
        return data
    check = FieldCheck()
    unknown_fields(check, data, {"reason"})
    reason = check.text(data, "reason", "reason", required="Tell us why.", limit=LONG_TEXT)
    if check.errors:
        return problem(422, "The closure was not contested.", check.errors)
    return _act(case, "contest_closure", reason)


@blueprint.route("/complainant/adverse-treatment", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@signed_in
def complainant_adverse(case: Case, _key: KeyPair) -> Response | tuple[Response, int]:
    data = json_object()
    if isinstance(data, Response):
        return data
    check = FieldCheck()
    unknown_fields(check, data, {"kind", "details"})
    kind = check.choice(
        data, "kind", "kind", set(complainant_portal.ADVERSE_KINDS), "Choose what happened."
    )
    details = check.text(
        data, "details", "details", required="Tell us what happened.", limit=LONG_TEXT
    )
    if check.errors:
        return problem(422, "Nothing was reported.", check.errors)
    return _act(case, "report_adverse_treatment", details, kind=kind)


@blueprint.route("/complainant/openness", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@signed_in
def complainant_openness(case: Case, key: KeyPair) -> Response | tuple[Response, int]:
    """Make the complaint more open: anonymous to confidential (named to the service only)
    or open (the public body is told who complained). It cannot be undone, so `confirm`
    must be true; an anonymous complaint says who complains in `identity`."""
    data = json_object()
    if isinstance(data, Response):
        return data
    check = FieldCheck()
    unknown_fields(check, data, {"level", "confirm", "identity"})
    higher = {level for level in LEVELS if LEVELS[level] > LEVELS[case.openness]}
    if not higher:
        return problem(409, "Your complaint is open already: nothing is more open.")
    level = check.choice(
        data, "level", "level", higher, "Choose how open your complaint should be."
    )
    if data.get("confirm") is not True:
        check.add("confirm", "Send true to confirm that you understand this cannot be undone.")
    identity: dict[str, Any] | None = None
    if case.identity is None:
        try:
            identity = parse_api_identity(data.get("identity"))
        except IntakeInvalid as exc:
            for path, message in exc.errors.items():
                check.add(path, message)
    elif "identity" in data:
        check.add("identity", "Leave this out: the service knows who you are already.")
    if check.errors:
        return problem(422, "Your complaint was not made more open.", check.errors)
    try:
        identity_access.increase_openness(
            database(), case, key, level, confirmed=True, identity=identity
        )
    except (ServiceError, VaultError) as exc:
        db.session.rollback()
        return problem(409, str(exc))
    db.session.commit()
    return jsonify({"openness": case.openness})


@blueprint.route("/complainant/survey", methods=["POST"])
@limiter.limit(api_request_limit, on_breach=too_many)
@public
@signed_in
def complainant_survey(case: Case, _key: KeyPair) -> Response | tuple[Response, int]:
    """The closing survey, once the case is closed: three ratings from 1 (very poor) to
    5 (very good) and whether you would use the service again. Numbers only."""
    data = json_object()
    if isinstance(data, Response):
        return data
    answers = survey_answers(data)
    if isinstance(answers, Response):
        return answers
    try:
        outcomes.complainant_survey(database(), case, **answers)
    except ServiceError as exc:
        db.session.rollback()
        return problem(409, str(exc))
    db.session.commit()
    return jsonify({"answered": True}), 201
