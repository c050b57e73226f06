"""Complainant sign-in with case reference and passphrase, and sign-out."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from mediation.extensions import client_address, database, db
from mediation.services import complainant_sessions
from mediation.services.complainant_sessions import SignInThrottled
from mediation.services.complaints import UnknownCaseOrPassphrase
from mediation.web.access import public
from mediation.web.complainant.portal_forms import RESUMABLE, SignInForm
from mediation.web.complainant.routes import blueprint
from mediation.web.complainant.session import (
    complainant_ticket,
    current_complainant,
    forget_complainant,
    now,
    remember_complainant,
)


def session_ended(resume: str, text: str) -> tuple[str, int]:
    """The sign-in page for a session that idled out mid-way, keeping what was written."""
    form = SignInForm(formdata=None, data={"resume": resume, "kept_text": text})
    return render_template("complainant/sign_in.html", form=form, ended=True, error=None), 200


@blueprint.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in() -> Response | tuple[str, int]:
    form = SignInForm()
    resume = form.resume.data if form.resume.data in RESUMABLE else ""
    kept = (form.kept_text.data or "").strip()
    error = None
    status = 200
    if request.method == "GET" and current_complainant() is not None:
        return redirect(url_for(".portal"))
    if form.validate_on_submit():
        try:
            ticket = complainant_sessions.sign_in(
                database(),
                form.reference.data or "",
                form.passphrase.data or "",
                client_address(),
                now(),
            )
        except SignInThrottled as exc:
            db.session.rollback()
            error, status = str(exc), 429
            response_headers = {"Retry-After": str(exc.retry_after)}
            page = render_template(
                "complainant/sign_in.html", form=form, ended=bool(resume), error=error
            )
            return page, status, response_headers  # type: ignore[return-value]
        except UnknownCaseOrPassphrase as exc:
            # Counted before the passphrase was tried, in the shared store: nothing to keep.
            error = str(exc)
        else:
            # A session this browser already held ends here, its custody row with it.
            complainant_sessions.sign_out(database(), complainant_ticket())
            db.session.commit()
            forget_complainant()
            remember_complainant(ticket)
            if resume:
                return _carry_on(resume, kept)
            return redirect(url_for(".portal"))
    return render_template(
        "complainant/sign_in.html", form=form, ended=bool(resume), error=error
    ), status


def _carry_on(resume: str, kept: str) -> Response | tuple[str, int]:
    """After signing in again: the kept text in its form, to check and send. Never sent
    by the sign-in itself: the text came back from a page that anyone can post to (a
    form on another site, without the cookie, gets the same "session ended" page)."""
    if resume == "message":
        from mediation.web.complainant.portal import render_portal
        from mediation.web.complainant.portal_forms import MessageForm

        flash("You are signed in again. Check your message, then send it.")
        return render_portal(message_form=MessageForm(formdata=None, data={"text": kept}))
    from mediation.web.complainant import portal_actions

    return portal_actions.resume_action(resume, kept)


@blueprint.route("/sign-out", methods=["POST"])
@public
def sign_out() -> Response:
    # No token check: signing out is always safe, and a stale form must still work.
    complainant_sessions.sign_out(database(), complainant_ticket())
    db.session.commit()
    forget_complainant()
    flash("You have signed out of your complaint.", "success")
    return redirect(url_for("public.index"))
