"""The complainant's two cookies: the draft being written, and the signed-in session.

The draft key has its own cookie, lasting as long as the draft (24 hours), so that an
idle sign-in session or a closed tab never loses a half-written complaint. The signed-in
complainant's ticket lives in the ordinary session, which idles out after 30 minutes.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, g, request, session
from werkzeug.wrappers import Response

from mediation.extensions import database, db
from mediation.models.cases import Case
from mediation.models.time import utcnow
from mediation.services import complainant_sessions
from mediation.services.complainant_sessions import ComplainantTicket
from mediation.services.drafts import DRAFT_LIFETIME, DraftTicket
from mediation.vault import KeyPair

DRAFT_COOKIE = "cm_draft"
SESSION_KEY = "complainant"


def now() -> datetime:
    """The time for drafts, throttling and sessions (tests move it instead of sleeping)."""
    return utcnow()


def draft_ticket() -> DraftTicket | None:
    return DraftTicket.from_cookie(request.cookies.get(DRAFT_COOKIE))


def set_draft_cookie(response: Response, ticket: DraftTicket) -> Response:
    response.set_cookie(
        DRAFT_COOKIE,
        ticket.to_cookie(),
        max_age=int(DRAFT_LIFETIME.total_seconds()),
        path="/my-complaint",
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Strict",
    )
    return response


def clear_draft_cookie(response: Response) -> Response:
    response.delete_cookie(
        DRAFT_COOKIE,
        path="/my-complaint",
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Strict",
    )
    return response


def complainant_ticket() -> ComplainantTicket | None:
    return ComplainantTicket.from_session(session.get(SESSION_KEY))


def remember_complainant(ticket: ComplainantTicket) -> None:
    session[SESSION_KEY] = ticket.to_session()
    g.pop("complainant", None)


def forget_complainant() -> None:
    session.pop(SESSION_KEY, None)
    g.pop("complainant", None)


def current_complainant() -> tuple[Case, KeyPair] | None:
    """The signed-in complainant's case and passphrase-derived key, or None.

    For any view of the complainant blueprint (the disclosure statement pages use it too).
    Each call inside one request returns the same pair. The first call moves the
    server-side idle clock on and commits that at once, so call it before changing anything.
    """
    if "complainant" not in g:
        g.complainant = complainant_sessions.current(database(), complainant_ticket(), now())
        if g.complainant is None:
            session.pop(SESSION_KEY, None)
        else:
            db.session.commit()
    found: tuple[Case, KeyPair] | None = g.complainant
    return found
