"""Staff key pairs and session key custody: the database side of the vault's key handling."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mediation.models.staff import StaffUser
from mediation.models.time import as_utc, utcnow
from mediation.models.vault import KeyCustody, StaffKey
from mediation.vault import (
    STAFF_KEY_KDF,
    TEST_KDF,
    CustodyExpired,
    CustodyInvalid,
    KdfParams,
    KeyPair,
    PublicKey,
    WrappedKey,
    decode_cookie_key,
    encode_cookie_key,
    generate_keypair,
    generate_recovery_key,
    keypair_from_private,
    open_custody,
    seal_for_custody,
    unwrap_private_key,
    unwrap_with_recovery_key,
    wrap_private_key,
    wrap_with_recovery_key,
)

CUSTODY_LIFETIME = timedelta(hours=12)


def staff_kdf() -> KdfParams:
    """Argon2id parameters for wrapping staff keys; cheap only when a test asks for it."""
    if current_app.config.get("VAULT_KDF_PROFILE") == "test":
        return TEST_KDF
    return STAFF_KEY_KDF


def current_suite() -> str:
    return str(current_app.config["VAULT_SUITE"])


def active_key(session: Session, user_id: int) -> StaffKey | None:
    """The user's live key record (older ones are retired by rotation or reset)."""
    return session.execute(
        select(StaffKey)
        .where(StaffKey.user_id == user_id, StaffKey.retired_at.is_(None))
        .order_by(StaffKey.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def public_key_of(record: StaffKey) -> PublicKey:
    return PublicKey(suite=record.suite, public=record.public_key)


def create_staff_key(session: Session, user: StaffUser, password: str) -> str:
    """Make a new key pair for the user, retire the old one, and return the recovery key.

    An authenticator secret sealed to the old key could no longer be opened: it is
    dropped, and the user sets up their authenticator again at their next sign-in."""
    if user.totp_secret and user.totp_secret.startswith("sealed:"):
        user.totp_secret = None
        user.totp_last_counter = None
    user.totp_pending_secret = None  # sealed to the old key too
    for old in session.execute(
        select(StaffKey).where(StaffKey.user_id == user.id, StaffKey.retired_at.is_(None))
    ).scalars():
        old.retired_at = utcnow()
    keypair = generate_keypair(current_suite())
    recovery = generate_recovery_key()
    session.add(_key_record(user, keypair, password, recovery))
    session.flush()
    return recovery


def _key_record(user: StaffUser, keypair: KeyPair, password: str, recovery: str) -> StaffKey:
    return StaffKey(
        user_id=user.id,
        suite=keypair.suite,
        key_id=keypair.key_id,
        public_key=keypair.public,
        wrapped_by_password=wrap_private_key(keypair.private, password, staff_kdf()).to_dict(),
        wrapped_by_recovery=wrap_with_recovery_key(keypair.private, recovery).to_dict(),
    )


def admit_as_custodian(session: Session, user: StaffUser, *, by: StaffUser | None) -> bool:
    """Admit a case officer's current key as a custodian's (by another custodian, or None for
    the key ceremony and demo data). Returns False if it already was. Caller audits."""
    record = active_key(session, user.id)
    if record is None:
        raise CustodyInvalid("This account has no key yet: they must set their password first.")
    if record.admitted_at is not None:
        return False
    record.admitted_at = utcnow()
    record.admitted_by_id = by.id if by is not None else None
    return True


def unlock(session: Session, user: StaffUser, password: str) -> KeyPair | None:
    """Open the user's private key with their password (None if they have no key yet)."""
    record = active_key(session, user.id)
    if record is None:
        return None
    private = unwrap_private_key(WrappedKey.from_dict(record.wrapped_by_password), password)
    return keypair_from_private(record.suite, private)


def rewrap_with_recovery_key(
    session: Session, user: StaffUser, recovery_key: str, new_password: str
) -> str:
    """After a reset: keep the same key pair, now wrapped by the new password.

    Returns a fresh recovery key; the old one stops working.
    """
    record = active_key(session, user.id)
    if record is None:
        raise CustodyInvalid("This account has no key to recover.")
    private = unwrap_with_recovery_key(
        WrappedKey.from_dict(record.wrapped_by_recovery), recovery_key
    )
    keypair = keypair_from_private(record.suite, private)
    fresh = generate_recovery_key()
    record.wrapped_by_password = wrap_private_key(private, new_password, staff_kdf()).to_dict()
    record.wrapped_by_recovery = wrap_with_recovery_key(keypair.private, fresh).to_dict()
    return fresh


@dataclass(frozen=True)
class CustodyTicket:
    """What the session cookie carries: which custody row, and the only key that opens it."""

    custody_id: str
    cookie_key: str

    def to_session(self) -> dict[str, str]:
        return {"id": self.custody_id, "key": self.cookie_key}

    @classmethod
    def from_session(cls, data: object) -> CustodyTicket | None:
        if not isinstance(data, dict):
            return None
        custody_id, key = data.get("id"), data.get("key")
        if not isinstance(custody_id, str) or not isinstance(key, str):
            return None
        return cls(custody_id, key)


def take_custody(session: Session, user: StaffUser, keypair: KeyPair) -> CustodyTicket:
    """Store the unlocked key sealed under a new random key that only the cookie will hold."""
    session.execute(delete(KeyCustody).where(KeyCustody.expires_at < utcnow()))
    blob, cookie_key = seal_for_custody(
        keypair.private, keypair.suite, lifetime=CUSTODY_LIFETIME.total_seconds()
    )
    custody_id = secrets.token_hex(32)
    session.add(
        KeyCustody(
            id=custody_id,
            user_id=user.id,
            key_id=keypair.key_id,
            blob=blob,
            expires_at=utcnow() + CUSTODY_LIFETIME,
        )
    )
    return CustodyTicket(custody_id, encode_cookie_key(cookie_key))


def release_custody(session: Session, ticket: CustodyTicket | None) -> None:
    """Forget the held key (sign-out)."""
    if ticket is not None:
        session.execute(delete(KeyCustody).where(KeyCustody.id == ticket.custody_id))


def release_all_custody(session: Session, user_id: int) -> None:
    session.execute(delete(KeyCustody).where(KeyCustody.user_id == user_id))


def held_keypair(session: Session, user: StaffUser, ticket: CustodyTicket | None) -> KeyPair:
    """The signed-in user's private key, from the database row and the cookie key together."""
    if ticket is None:
        raise CustodyInvalid()
    row = session.get(KeyCustody, ticket.custody_id)
    if row is None or row.user_id != user.id:
        raise CustodyInvalid()
    if as_utc(row.expires_at) < utcnow():
        raise CustodyExpired()
    return open_custody(row.blob, decode_cookie_key(ticket.cookie_key))
