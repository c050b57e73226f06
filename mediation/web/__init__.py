"""The web layer: one blueprint per role, error pages, sign-in plumbing."""

from __future__ import annotations

from typing import Any

import redis
from flask import (
    Flask,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response as WerkzeugResponse

from mediation.extensions import database, db, login_manager
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services import staff_sessions
from mediation.services.errors import ServiceError
from mediation.services.intake_rules import MAX_ID, row_id
from mediation.vault import CustodyExpired, CustodyInvalid, VaultError
from mediation.web.access import SignInAgain
from mediation.web.client_limits import TooManyFromConnection, count_public_posts
from mediation.web.navigation import nav_for
from mediation.web.query_parameters import UnusableQuery, check_query_parameters
from mediation.web.request_body import ReadableBody, UnreadableBody
from mediation.web.typed_text import paragraphs

ERROR_TEXT: dict[int, tuple[str, str]] = {
    400: (
        "There was a problem with your request",
        "The page could not handle what was sent. Go back, check your answers and try again.",
    ),
    403: ("You do not have access to this page", "Your account cannot open this page."),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. If you pasted it, check you "
        "copied the entire address.",
    ),
    405: ("This page cannot do that", "Go back and use the buttons on the page."),
    413: (
        "The file is too large",
        "What you sent is bigger than this service accepts. Go back and choose a smaller file.",
    ),
    422: (
        "That could not be done",
        "Go back and try again. Nothing was changed.",
    ),
    429: (
        "Too many attempts",
        "You have tried this too many times in a short period. Wait a few minutes and try again.",
    ),
    500: (
        "Sorry, there is a problem with the service",
        "Try again later. What you have already sent us is safe.",
    ),
    503: (
        "Sorry, the service is busy",
        "Part of the service is not answering just now. Wait a minute and try again: "
        "nothing you have already sent us is lost.",
    ),
}
# How long a client is told to wait when the shared store (Redis) is not answering.
STORE_RETRY_AFTER_SECONDS = 30


class RowId(IntegerConverter):
    """`int` in a URL, within the row ids the database can hold (positive, 32-bit)."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = 1,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def register_web(app: Flask) -> None:
    from mediation.web.admin import panel_routes  # noqa: F401  (adds the panel pages)
    from mediation.web.admin.routes import blueprint as admin
    from mediation.web.analyst.routes import blueprint as analyst
    from mediation.web.api import complainant as _complainant_api  # noqa: F401  (its routes)
    from mediation.web.api import respondent as _respondent_api  # noqa: F401  (its routes)
    from mediation.web.api.routes import blueprint as api
    from mediation.web.auth.routes import blueprint as auth
    from mediation.web.casework.routes import blueprint as casework
    from mediation.web.complainant.routes import blueprint as complainant
    from mediation.web.identity.routes import blueprint as identity
    from mediation.web.mediator.routes import blueprint as mediator
    from mediation.web.public.routes import blueprint as public
    from mediation.web.respondent.routes import blueprint as respondent
    from mediation.web.statistics.routes import blueprint as statistics

    # Every body (form, upload, JSON) is read through one guard: a broken one is a 400.
    app.wsgi_app = ReadableBody(app.wsgi_app)  # type: ignore[method-assign]
    # Every <int:...> in a URL is a row id: one past a 32-bit integer is a 404 here rather
    # than an overflow in the database driver (a 500).
    app.url_map.converters["int"] = RowId
    blueprints = (
        public,
        auth,
        admin,
        analyst,
        casework,
        mediator,
        respondent,
        complainant,
        api,
        statistics,
        identity,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    # Messages keep their line breaks: escaped first, then <p> and <br> (typed_text.py).
    app.add_template_filter(paragraphs)

    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to continue."
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)

    # Every query string is checked once, before any view reads it; and every POST a
    # stranger can make is counted by some limit (client_limits.py).
    app.before_request(check_query_parameters)
    app.before_request(count_public_posts)

    @app.before_request
    def _idle_timeout() -> None:
        # A permanent session is refreshed on every request and ends after 30 idle minutes.
        # The JSON API acts on no session, so it sets no cookie.
        if not request.path.startswith("/api/"):  # a 404 or 405 under /api/ included
            session.permanent = True

    @app.after_request
    def _no_store(response: Response) -> Response:
        # Pages may hold case content or identities: no browser or proxy may keep a copy.
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def _layout_context() -> dict[str, Any]:
        role = current_user.role if current_user.is_authenticated else None
        return {"nav_items": nav_for(role)}

    for code in ERROR_TEXT:
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(UnreadableBody, _said_what_is_wrong)
    app.register_error_handler(UnusableQuery, _said_what_is_wrong)
    app.register_error_handler(TooManyFromConnection, _said_what_is_wrong)
    app.register_error_handler(VaultError, _vault_error)
    app.register_error_handler(SignInAgain, _sign_in_again)
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(redis.RedisError, _store_unavailable)


def _load_user(user_id: str) -> StaffUser | None:
    """Load from "id:version" and the session's token: a bumped version (password change,
    deactivation) ends sessions, and so does a session row gone (signed out, or older
    than `staff_sessions.SESSION_CAP`)."""
    raw_id, _, raw_version = user_id.partition(":")
    # Any other id or version (digits int() refuses, such as "²"; past a 32-bit row id) is
    # no one: an anonymous visitor, never an error, so that the error page works too.
    user_row = row_id(raw_id)
    version = row_id(raw_version)
    if user_row is None or version is None:
        return None
    token = session.get(staff_sessions.COOKIE_KEY)
    user = staff_sessions.user_of(database(), user_row, token, utcnow())
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.endswith(".json")


def error_response(code: int, message: str | None = None) -> tuple[Response | str, int]:
    """The friendly page (or JSON error) for an HTTP status; never anything internal."""
    title, default_message = ERROR_TEXT.get(code, ERROR_TEXT[500])
    if wants_json():
        # A problem document (RFC 9457), as the API's own refusals are.
        response = jsonify({"status": code, "title": title, "detail": message or default_message})
        response.mimetype = "application/problem+json"
        return response, code
    return (
        render_template(
            "errors/error.html", code=code, title=title, message=message or default_message
        ),
        code,
    )


def _error_page(error: Exception) -> WerkzeugResponse | tuple[Response | str, int]:
    if isinstance(error, HTTPException) and isinstance(error.response, WerkzeugResponse):
        return error.response  # made by the route's own handler (the API's 429)
    code = error.code if isinstance(error, HTTPException) and error.code else 500
    message = None
    if code == 413:
        limit_mb = int(request.max_content_length or 0) // (1024 * 1024)
        message = (
            f"What you sent is bigger than the {limit_mb} MB this service accepts. "
            "Go back and choose a smaller file."
        )
    return error_response(code, message)


def _csrf_error(error: CSRFError) -> tuple[Response | str, int]:
    return error_response(
        400,
        "The form expired or was sent from another page. Go back, reload the page and try again.",
    )


def _said_what_is_wrong(error: HTTPException) -> tuple[Response | str, int]:
    """A refusal whose description says what was wrong with what was sent."""
    return error_response(error.code or 400, error.description)


def _sign_in_again(error: Exception) -> WerkzeugResponse:
    db.session.rollback()
    logout_user()
    session.clear()
    flash(str(error))
    return redirect(url_for("auth.sign_in"))


def _vault_error(error: VaultError) -> WerkzeugResponse | tuple[Response | str, int]:
    """A refused key operation is a clear message, never a 500 (and nothing was written)."""
    if isinstance(error, CustodyInvalid | CustodyExpired) and not wants_json():
        return _sign_in_again(error)
    db.session.rollback()
    return error_response(422, str(error))


def _store_unavailable(error: redis.RedisError) -> tuple[Response | str, int, dict[str, str]]:
    """Redis (the sign-in gates, the limiter's counters, the period's key) down, hanging or
    refusing: every throttled page answers 503 with Retry-After, never a 500, and nothing
    was done. The error's text may name the host; it is not shown."""
    if isinstance(error, redis.ConnectionError | redis.TimeoutError | redis.BusyLoadingError):
        current_app.logger.warning("The shared store is not answering: %s", type(error).__name__)
    else:
        # Not an outage but a refusal (a script's error, a wrong key type): still no 500 for
        # the user, but logged in full, since it is a fault of ours to mend.
        current_app.logger.error("The shared store refused a command", exc_info=error)
    db.session.rollback()
    body, code = error_response(503)
    return body, code, {"Retry-After": str(STORE_RETRY_AFTER_SECONDS)}


def _service_error(error: ServiceError) -> tuple[Response | str, int]:
    """A safety net: a view that forgot to catch an expected refusal still shows its message."""
    db.session.rollback()
    return error_response(400, str(error))
