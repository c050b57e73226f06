"""Access control for views: every staff view names one permission, checked here only."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, redirect, request, session, url_for
from flask_login import current_user

from mediation.domain.permissions import Permission, allows
from mediation.extensions import database
from mediation.models.staff import StaffUser
from mediation.services.keyring import CustodyTicket, held_keypair
from mediation.vault import CustodyExpired, CustodyInvalid, KeyPair

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"


def requires(permission: Permission) -> Callable[[F], F]:
    """Refuse anyone not signed in (to the sign-in page) or not granted the permission (403)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("auth.sign_in", next=request.path))
            if not allows(current_user.role, permission):
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_permission = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Mark a view as open to everyone, so the route audit knows it was meant to be."""
    view.required_permission = PUBLIC  # type: ignore[attr-defined]
    return view


def signed_in_user() -> StaffUser:
    """The current staff user (only call behind `requires`)."""
    user = current_user._get_current_object()
    assert isinstance(user, StaffUser)
    return user


class SignInAgain(Exception):
    """The session's held key is gone or expired: the person must sign in again."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def current_keypair() -> KeyPair:
    """The signed-in user's unlocked private key, held server-side for this session.

    Raises SignInAgain (handled for every view) rather than a VaultError, so that a view's
    own handling of refused key operations never hides a dead session.
    """
    ticket = CustodyTicket.from_session(session.get("custody"))
    try:
        return held_keypair(database(), signed_in_user(), ticket)
    except (CustodyInvalid, CustodyExpired) as exc:
        raise SignInAgain(str(exc)) from exc
