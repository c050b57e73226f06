"""Complainant sign-in with reference and passphrase: slowed guessing and key custody.

Guessing is slowed per reference for each client, and per client over every reference,
each counted under a keyed hash (the reference and the address themselves are never
stored). After a few free failures each further attempt must wait twice as long as the
last, up to a cap. A refused attempt is not a failure, so hammering does not lengthen the
wait. Failures are not counted per reference alone, across every client: the public body
complained about sees the reference, and one wrong guess sent each time the wait ended
would keep the real complainant, signing in from anywhere else, waiting for good: a
lock-out by another name. A 7-word passphrase (about 90 bits) behind Argon2id needs no
such limit against guessing spread over many clients.

The derived key is then held like a staff member's: sealed in the database under a random
key that only the session cookie holds.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from mediation.domain.coarse_time import day_end, day_start
from mediation.models.cases import Case
from mediation.models.intake import ComplainantSession, SignInFailure
from mediation.models.time import as_utc
from mediation.services import complaints, sealed_clocks
from mediation.services.complaints import UnknownCaseOrPassphrase, normalise_reference
from mediation.services.errors import ServiceError
from mediation.services.intake_rules import printable
from mediation.vault import (
    KeyPair,
    VaultError,
    decode_cookie_key,
    encode_cookie_key,
    open_custody,
    seal_for_custody,
)

FREE_FAILURES = 3
FIRST_DELAY_SECONDS = 1
MAX_DELAY_SECONDS = 30
FAILURE_WINDOW = timedelta(hours=1)
IDLE_TIMEOUT = timedelta(minutes=30)
# However active, a complainant signs in again after this long.
SESSION_CAP = timedelta(hours=12)


class SignInThrottled(ServiceError):
    """Too many recent failures from this client: wait, then retry."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        unit = "second" if retry_after == 1 else "seconds"
        super().__init__(
            "There have been several wrong attempts to sign in from your connection. "
            f"Wait {retry_after} {unit}, then try again."
        )


def delay_after(failures: int) -> int:
    """Seconds to wait after this many recent failures: 0, then 1, 2, 4 … capped at 30."""
    if failures < FREE_FAILURES:
        return 0
    return min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS << (failures - FREE_FAILURES))


def _keyed(kind: str, value: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    message = f"complainant-sign-in\x00{kind}\x00{value}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def throttle_keys(reference: str, client: str) -> tuple[str, str]:
    """Keyed hashes of the normalised reference typed from this client, and of the client
    address."""
    typed = f"{normalise_reference(reference)}\x00{client}"
    return _keyed("reference-from-client", typed), _keyed("client", client)


def _wait_for(session: Session, key_hash: str, now: datetime) -> float:
    since = now - FAILURE_WINDOW
    count, last = session.execute(
        select(func.count(SignInFailure.id), func.max(SignInFailure.failed_at)).where(
            SignInFailure.key_hash == key_hash, SignInFailure.failed_at > since
        )
    ).one()
    if not count or last is None:
        return 0.0
    allowed_at = as_utc(last) + timedelta(seconds=delay_after(int(count)))
    return max(0.0, (allowed_at - now).total_seconds())


def check_throttle(session: Session, keys: tuple[str, ...], now: datetime) -> None:
    """Refuse (without trying the passphrase) while any key is still in its waiting time."""
    wait = max(_wait_for(session, key, now) for key in keys)
    if wait > 0:
        raise SignInThrottled(max(1, math.ceil(wait)))


def _record_failure(session: Session, keys: tuple[str, ...], now: datetime) -> None:
    session.execute(delete(SignInFailure).where(SignInFailure.failed_at <= now - FAILURE_WINDOW))
    for key in keys:
        session.add(SignInFailure(key_hash=key, failed_at=now))


@dataclass(frozen=True)
class ComplainantTicket:
    """What the session cookie carries: which custody row, and the only key that opens it."""

    session_id: str
    cookie_key: str

    def to_session(self) -> dict[str, str]:
        return {"id": self.session_id, "key": self.cookie_key}

    @classmethod
    def from_session(cls, data: object) -> ComplainantTicket | None:
        if not isinstance(data, dict):
            return None
        session_id, key = data.get("id"), data.get("key")
        if not isinstance(session_id, str) or not isinstance(key, str):
            return None
        return cls(session_id, key)


def sign_in(
    session: Session, reference: str, passphrase: str, client: str, now: datetime
) -> ComplainantTicket:
    """Check the passphrase (slowly, and only when not throttled) and hold the derived key.

    Raises SignInThrottled or UnknownCaseOrPassphrase. Caller commits in both the success
    and the failure case: a failure is recorded so that the next attempt waits longer.
    """
    # What cannot be typed cannot be right; it must not reach the database either.
    reference, passphrase = printable(reference, 40), printable(passphrase, 300)
    reference_key, client_key = throttle_keys(reference, client)
    check_throttle(session, (reference_key, client_key), now)
    try:
        case, keypair = complaints.complainant_keypair(session, reference, passphrase)
    except UnknownCaseOrPassphrase:
        _record_failure(session, (reference_key, client_key), now)
        raise
    # The real complainant got in: their own slips at this reference no longer count.
    session.execute(delete(SignInFailure).where(SignInFailure.key_hash == reference_key))
    session.execute(delete(ComplainantSession).where(ComplainantSession.expires_at <= now))
    # The blob's readable expiry is the midnight after the longest deadline, so that it
    # does not say when the complainant signed in; the exact one is in the sealed clock.
    blob, cookie_key = seal_for_custody(
        keypair.private, keypair.suite, lifetime=0, now=day_end(now + SESSION_CAP).timestamp()
    )
    ticket = ComplainantTicket(secrets.token_hex(32), encode_cookie_key(cookie_key))
    row = ComplainantSession(
        id=ticket.session_id,
        case_id=case.id,
        key_id=keypair.key_id,
        blob=blob,
        created_at=day_start(now),
    )
    _set_clock(row, cookie_key, idle_until=now + IDLE_TIMEOUT, longest=now + SESSION_CAP)
    session.add(row)
    return ticket


def _set_clock(
    row: ComplainantSession, cookie_key: bytes, *, idle_until: datetime, longest: datetime
) -> None:
    """The exact deadlines sealed under the cookie's key; readable, only the midnight
    after the idle one, enough to purge the row (G11)."""
    row.clock = sealed_clocks.seal([idle_until, longest], cookie_key, f"session:{row.id}")
    row.expires_at = day_end(idle_until)


def current(
    session: Session, ticket: ComplainantTicket | None, now: datetime
) -> tuple[Case, KeyPair] | None:
    """The signed-in complainant's case and derived key, or None (and the idle clock moves on)."""
    if ticket is None:
        return None
    row = session.get(ComplainantSession, ticket.session_id)
    if row is None or as_utc(row.expires_at) <= now:
        return None
    try:
        cookie_key = decode_cookie_key(ticket.cookie_key)
    except VaultError:
        return None
    deadlines = sealed_clocks.open_clock(row.clock, cookie_key, f"session:{row.id}", 2)
    if deadlines is None or now >= min(deadlines):
        return None
    try:
        keypair = open_custody(row.blob, cookie_key, now=now.timestamp())
    except VaultError:
        return None
    case = session.get(Case, row.case_id)
    if case is None or keypair.key_id != case.complainant_key_id:
        return None
    _set_clock(row, cookie_key, idle_until=now + IDLE_TIMEOUT, longest=deadlines[1])
    return case, keypair


def sign_out(session: Session, ticket: ComplainantTicket | None) -> None:
    """Forget the held key. Caller commits."""
    if ticket is not None:
        session.execute(
            delete(ComplainantSession).where(ComplainantSession.id == ticket.session_id)
        )


def purge_expired(session: Session, now: datetime) -> int:
    """Delete sessions past the midnight after their idle deadline (all the row says of
    it) and failures older than the counting window."""
    result = session.execute(delete(ComplainantSession).where(ComplainantSession.expires_at <= now))
    sessions = cast(CursorResult[Any], result).rowcount
    session.execute(delete(SignInFailure).where(SignInFailure.failed_at <= now - FAILURE_WINDOW))
    return int(sessions or 0)
