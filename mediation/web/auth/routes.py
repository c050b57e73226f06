"""Staff sign-in with password and authenticator code, sign-out and account set-up."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from mediation.domain.permissions import Permission, allows
from mediation.extensions import database, db, limit_key, limiter
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services import accounts, keyring, staff_sessions, staff_sign_in
from mediation.services.audit import record
from mediation.services.errors import ServiceError
from mediation.vault import CustodyExpired, CustodyInvalid, KeyPair, VaultError
from mediation.web.access import public
from mediation.web.auth.forms import CodeForm, SetupForm, SignInForm

blueprint = Blueprint("auth", __name__)

PENDING_LIFETIME = timedelta(minutes=10)


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _known_device() -> bool:
    # A device a full sign-in to the account typed left its cookie on: counted on its own
    # gate (staff_sign_in), and spared the limits per address that others there may use up.
    email = request.form.get("email") or ""
    return staff_sign_in.known_device(
        database(), email, request.cookies.get(staff_sign_in.DEVICE_COOKIE)
    )


def _pending_key() -> str:
    return limit_key("pending", str(session.get("pending_user", "none")))


def _pending_key_pair(user: StaffUser) -> KeyPair | None:
    """The key unlocked by the password of a sign-in waiting for its code, if held."""
    ticket = keyring.CustodyTicket.from_session(session.get("custody"))
    try:
        return keyring.held_keypair(database(), user, ticket)
    except (CustodyInvalid, CustodyExpired, VaultError):
        return None


def home_for(user: StaffUser) -> str:
    """Where each role starts."""
    for permission, endpoint in (
        (Permission.VIEW_CASE_QUEUE, "casework.queue"),
        (Permission.WORK_ASSIGNED_CASES, "mediator.cases"),
        (Permission.RESPOND_FOR_BODY, "respondent.cases"),
        (Permission.MANAGE_USERS, "admin.users"),
        (Permission.VIEW_STATISTICS_DASHBOARD, "analyst.dashboard"),
    ):
        if allows(user.role, permission):
            return url_for(endpoint)
    return url_for("public.index")


NEXT_LIMIT = 512  # a longer `next` is dropped: it rides in the session cookie (about 4 KB)


def _safe_next(target: str | None) -> str | None:
    """A path on this site to go to after signing in; anything else (another host, or too
    long to keep in the session cookie without the browser dropping it) is ignored.
    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so a slash,
    a tab, then "/evil.example" would leave the site: a control character or a backslash
    anywhere refuses the whole path."""
    if not target or len(target) > NEXT_LIMIT or not target.startswith("/"):
        return None
    if any(ord(c) < 0x20 or c in "\x7f\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


def _pending_user() -> StaffUser | None:
    started = session.get("pending_started")
    if not isinstance(started, (int, float)):
        return None
    if utcnow().timestamp() - started > PENDING_LIFETIME.total_seconds():
        return None
    user = accounts_loader(session.get("pending_user"))
    return user


def accounts_loader(user_ref: object) -> StaffUser | None:
    if not isinstance(user_ref, str):
        return None
    raw_id, _, version = user_ref.partition(":")
    if not raw_id.isdigit():
        return None
    user = db.session.get(StaffUser, int(raw_id))
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


def _finish_sign_in(user: StaffUser) -> Response:
    custody = session.get("custody")
    next_url = _safe_next(session.get("pending_next"))
    session.clear()
    if custody:
        session["custody"] = custody
    session[staff_sessions.COOKIE_KEY] = staff_sessions.start(database(), user, utcnow())
    login_user(user)
    user.last_sign_in_at = utcnow()
    record(database(), accounts.actor_for(user), "user.signed_in")
    db.session.commit()
    response = redirect(next_url or home_for(user))
    # This browser is now a known device of the account (OWASP's device cookie).
    response.set_cookie(
        staff_sign_in.DEVICE_COOKIE,
        staff_sign_in.device_cookie(user),
        max_age=int(staff_sign_in.DEVICE_LIFETIME.total_seconds()),
        path=url_for("auth.sign_in"),
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Strict",
    )
    return response


@blueprint.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], exempt_when=_known_device)
@public
def sign_in() -> Response | str | tuple[str, int, dict[str, str]]:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        try:
            user, keypair = staff_sign_in.check_password(
                database(),
                form.email.data or "",
                form.password.data or "",
                request.cookies.get(staff_sign_in.DEVICE_COOKIE),
                utcnow(),
            )
        except staff_sign_in.StaffSignInThrottled as exc:
            page = render_template("auth/sign_in.html", form=form, error=str(exc))
            return page, 429, {"Retry-After": str(exc.retry_after)}
        except (ServiceError, VaultError) as exc:
            error = str(exc)
        else:
            session.clear()
            if keypair is not None:
                session["custody"] = keyring.take_custody(database(), user, keypair).to_session()
            session["pending_user"] = user.get_id()
            session["pending_started"] = utcnow().timestamp()
            session["pending_next"] = _safe_next(request.args.get("next"))
            db.session.commit()
            if current_app.config["DEMO_MODE"] and user.is_demo:
                return _finish_sign_in(user)
            if user.totp_secret:
                return redirect(url_for("auth.code"))
            return redirect(url_for("auth.enrol"))
    return render_template("auth/sign_in.html", form=form, error=error)


@blueprint.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_pending_key)
@public
def code() -> Response | str:
    user = _pending_user()
    if user is None or not user.totp_secret:
        flash("Your sign-in expired. Sign in again.")
        return redirect(url_for("auth.sign_in"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        try:
            # The secret is sealed to the user's key, unlocked by the password just given.
            accounts.verify_totp(
                database(), user, form.code.data or "", keypair=_pending_key_pair(user)
            )
        except ServiceError as exc:
            error = str(exc)
        else:
            return _finish_sign_in(user)
    return render_template("auth/code.html", form=form, error=error)


@blueprint.route("/sign-in/set-up-authenticator", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@public
def enrol() -> Response | str:
    user = _pending_user()
    # The key the password unlocked: the new secret is kept sealed to it (never in the
    # session cookie) and opened with it when the code comes.
    keypair = _pending_key_pair(user) if user is not None else None
    if user is None or user.totp_secret or keypair is None:
        flash("Your sign-in expired. Sign in again.")
        return redirect(url_for("auth.sign_in"))
    try:
        secret = accounts.pending_totp_secret(database(), user, keypair)
    except ServiceError as exc:
        flash(str(exc))
        return redirect(url_for("auth.sign_in"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        try:
            accounts.enrol_totp(database(), user, form.code.data or "", keypair=keypair)
        except ServiceError as exc:
            error = str(exc)
        else:
            return _finish_sign_in(user)
    db.session.commit()  # the secret offered, kept for the code (or the next visit)
    return render_template(
        "auth/enrol.html",
        form=form,
        error=error,
        secret=secret,
        account=user.email,
    )


@blueprint.route("/sign-out", endpoint="logout", methods=["POST"])
@public
def sign_out() -> Response:
    if current_user.is_authenticated:
        keyring.release_custody(
            database(), keyring.CustodyTicket.from_session(session.get("custody"))
        )
        record(database(), accounts.actor_for(current_user), "user.signed_out")
    # Deleted whatever the state of the sign-in: a copy of this cookie opens nothing now.
    staff_sessions.end(database(), session.get(staff_sessions.COOKIE_KEY))
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("public.index"))


@blueprint.route("/set-up/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@public
def set_up(token: str) -> Response | str | tuple[str, int]:
    try:
        setup = accounts.redeem_setup_token(database(), token)
    except ServiceError as exc:
        return render_template("auth/setup_invalid.html", message=str(exc)), 404
    form = SetupForm()
    error = None
    if form.validate_on_submit():
        try:
            recovery = accounts.complete_setup(
                database(),
                token,
                form.password.data or "",
                recovery_key=form.recovery_key.data or None,
            )[1]
        except (ServiceError, VaultError) as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            return render_template("auth/setup_done.html", recovery_key=recovery)
    return render_template(
        "auth/setup.html", form=form, error=error, reset=setup.purpose == "reset"
    )
