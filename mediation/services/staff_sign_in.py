"""Staff sign-in by password, slowed per account and per device without locking the person
out: OWASP's device cookies.

A full sign-in (password and authenticator code) leaves a device cookie in the browser: a
random nonce, the account's id and a short keyed digest of the account's credential state
(its password hash and session version), signed and dated with the app's secret key. It
counts as a known device for `DEVICE_LIFETIME` after it was set, and no longer once the
password is changed or reset, the account's sessions are all ended, or it is deactivated.
A password tried with a device cookie of that same account counts only on that device's
own gate, so nobody else's wrong guesses ever keep the person waiting there. A password
tried without one (a new device, another browser, cookies cleared) counts on the account's
gate for unknown devices: guessing spread over many addresses is slowed per account.
Neither gate refuses for long: after ten free failures each attempt waits 2, 4, 8 … and at
most 60 seconds, so someone who has never signed in on this device, from a fresh address,
is at worst made to wait a minute, never turned away for half an hour. Per address the
limiter's own limits on the sign-in form apply as well (a known device is spared them).

Each attempt is counted on its gate before the password hash is checked, atomically with
the check of the wait, so guesses sent together cannot all be tried; a success gives it
back. The gates are kept in the shared store under keyed hashes made with the period's
random key (shared_store): neither the email typed nor the device's nonce is kept there.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from mediation.domain.backoff import Backoff
from mediation.models.staff import StaffUser
from mediation.services import accounts, keyring
from mediation.services.errors import ServiceError
from mediation.shared_store import GateName, forget_gate, release_gate, reserve_gates
from mediation.vault import KeyPair

DEVICE_COOKIE = "cm_device"
DEVICE_LIFETIME = timedelta(days=180)
BACKOFF = Backoff(free=10, first_seconds=2, max_seconds=60, window_seconds=60 * 60)


class StaffSignInThrottled(ServiceError):
    """Too many recent failures on this account from unknown devices, or on this device."""

    def __init__(self, retry_after: int, *, known_device: bool) -> None:
        self.retry_after = retry_after
        unit = "second" if retry_after == 1 else "seconds"
        wait = f"Wait {retry_after} {unit}, then try again."
        if known_device:
            message = f"There have been several wrong passwords from this device. {wait}"
        else:
            message = (
                "There have been several wrong attempts to sign in to this account from "
                f"devices it has not been used on. {wait} On a device you have signed in "
                "on before, other people's attempts never keep you waiting."
            )
        super().__init__(message)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        str(current_app.config["SECRET_KEY"]), salt="staff-device-cookie-v2"
    )


def _credential_state(user: StaffUser) -> str:
    """A short keyed digest of what a password change, a reset or ending every session
    changes: a device cookie made before no longer matches. Keyed, so that the cookie says
    nothing of the password hash."""
    state = f"{user.id}\x00{user.session_version}\x00{user.password_hash or ''}"
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"staff-device\x00" + state.encode(), hashlib.sha256).hexdigest()[:24]


def device_cookie(user: StaffUser) -> str:
    """A new device cookie for this account, set once a sign-in is complete."""
    return str(_serializer().dumps([user.id, secrets.token_hex(16), _credential_state(user)]))


def _device(cookie: str | None) -> tuple[int, str, str] | None:
    """The account id, nonce and credential digest a well-signed, unexpired device cookie
    holds."""
    if not cookie or len(cookie) > 300:
        return None
    try:
        value = _serializer().loads(cookie, max_age=int(DEVICE_LIFETIME.total_seconds()))
    except BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(value, list) or len(value) != 3:
        return None
    user_id, nonce, state = value
    if not isinstance(user_id, int) or not isinstance(nonce, str) or not isinstance(state, str):
        return None
    return user_id, nonce, state


def _known_nonce(session: Session, email: str, cookie: str | None) -> str | None:
    device = _device(cookie)
    if device is None:
        return None
    user = accounts.find_by_email(session, email)
    if user is None or user.id != device[0] or not user.active:
        return None
    if not hmac.compare_digest(_credential_state(user), device[2]):
        return None
    return device[1]


def known_device(session: Session, email: str, cookie: str | None) -> bool:
    """Whether this device cookie was set by a full sign-in to the account typed."""
    return _known_nonce(session, email, cookie) is not None


def check_password(
    session: Session, email: str, password: str, cookie: str | None, now: datetime
) -> tuple[StaffUser, KeyPair | None]:
    """The account and its unlocked key, once the attempt has passed its gate and the
    password is right. Raises StaffSignInThrottled, InvalidCredentials or a VaultError."""
    throttled = bool(current_app.config["RATELIMIT_ENABLED"])
    nonce = _known_nonce(session, email, cookie)
    if nonce is not None:
        gate = GateName("staff-device", (nonce,))
    else:
        gate = GateName("staff-account-unknown-devices", (email.strip().lower(),))
    if throttled:
        wait = reserve_gates((gate,), BACKOFF, now.timestamp())
        if wait > 0:
            raise StaffSignInThrottled(max(1, math.ceil(wait)), known_device=nonce is not None)
    user = accounts.authenticate(session, email, password)
    keypair = keyring.unlock(session, user, password)
    if throttled:
        if nonce is not None:
            forget_gate(gate)  # the device's own slips no longer count
        else:
            release_gate(gate)  # not a failure; others' failures still count
    return user, keypair
