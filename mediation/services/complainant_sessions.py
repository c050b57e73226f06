"""Complainant sign-in with reference and passphrase: slowed guessing and key custody.

Guessing is slowed per reference for each client, and per client over every reference,
each counted on a gate in the shared store under a keyed hash made with the period's random
key (shared_store): the reference and the address are never kept, nor hashed under
anything that outlives the count. After a few free failures each further attempt must wait
twice as long as the last, up to a cap. The attempt is counted before the passphrase is
tried, in one atomic step with the check of the wait, so attempts sent together cannot all
be tried in one open moment; a right passphrase gives its count back. A refused attempt is
not counted, so hammering does not lengthen the wait. Failures are not counted per
reference alone, across every client: the public body complained about sees the reference,
and one wrong guess sent each time the wait ended would keep the real complainant, signing
in from anywhere else, waiting for good: a lock-out by another name. A 7-word passphrase
(about 90 bits) behind Argon2id needs no such limit against guessing spread over many
clients.

The derived key is then held like a staff member's: sealed in the database under a random
key that only the session cookie holds. A case whose complainant key was derived with older
passphrase parameters is moved to today's first (complainant_key_upgrade).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.orm import Session

from mediation.domain.backoff import Backoff
from mediation.domain.client_addresses import throttle_address
from mediation.domain.coarse_time import day_end, day_start
from mediation.models.cases import Case
from mediation.models.intake import ComplainantSession
from mediation.models.time import as_utc
from mediation.services import complainant_key_upgrade, complaints, sealed_clocks
from mediation.services.complaints import normalise_reference
from mediation.services.errors import ServiceError
from mediation.services.intake_rules import printable
from mediation.shared_store import GateName, client_digest, forget_gate, release_gate, reserve_gates
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
BACKOFF = Backoff(
    free=FREE_FAILURES,
    first_seconds=FIRST_DELAY_SECONDS,
    max_seconds=MAX_DELAY_SECONDS,
    window_seconds=int(FAILURE_WINDOW.total_seconds()),
)
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
    return BACKOFF.delay_after(failures)


def throttle_gates(reference: str, client: str) -> tuple[GateName, GateName]:
    """The gates of the normalised reference typed from this client, and of the client
    address (an IPv6 one by its /64), before they are hashed."""
    address = throttle_address(client)
    return (
        GateName("complainant-reference-from-client", (normalise_reference(reference), address)),
        GateName("complainant-client", (address,)),
    )


def throttle_keys(reference: str, client: str) -> tuple[str, str]:
    """The gates of the normalised reference typed from this client, and of the client
    address: keyed hashes under the period's random key."""
    reference_gate, client_gate = throttle_gates(reference, client)
    return (
        client_digest(reference_gate.kind, *reference_gate.parts),
        client_digest(client_gate.kind, *client_gate.parts),
    )


def reserve_attempt(gates: tuple[GateName, ...], now: datetime) -> None:
    """Count this attempt on every gate before the passphrase is tried, or refuse it
    (without trying the passphrase, and counting nothing) while any gate is waiting."""
    wait = reserve_gates(gates, BACKOFF, now.timestamp())
    if wait > 0:
        raise SignInThrottled(max(1, math.ceil(wait)))


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

    Raises SignInThrottled or UnknownCaseOrPassphrase. The attempt is counted (in the
    shared store, not the database) before the passphrase is tried, so a failure needs
    nothing written; a success gives the count back. Caller commits on success.
    """
    # What cannot be typed cannot be right; it must not reach the database either.
    reference, passphrase = printable(reference, 40), printable(passphrase, 300)
    reference_gate, client_gate = throttle_gates(reference, client)
    reserve_attempt((reference_gate, client_gate), now)
    case, keypair = complaints.complainant_keypair(session, reference, passphrase)
    # A case still on the heavy parameters it was filed with moves to today's, now that
    # the passphrase is here; the session holds the key it ends with.
    keypair = complainant_key_upgrade.upgrade_on_sign_in(session, case, passphrase, keypair)
    # The real complainant got in: their own slips at this reference no longer count, and
    # this attempt is not a failure of their connection's.
    forget_gate(reference_gate)
    release_gate(client_gate)
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
    it); the gates' counts expire in the shared store by themselves."""
    result = session.execute(delete(ComplainantSession).where(ComplainantSession.expires_at <= now))
    sessions = cast(CursorResult[Any], result).rowcount
    return int(sessions or 0)
