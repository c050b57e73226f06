"""Staff accounts: creation, set-up links, passwords, second factor and sign-in checks."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mediation.domain.permissions import ALL_ROLES, RESPONDENT
from mediation.models.bodies import RespondentBody
from mediation.models.staff import SetupToken, StaffApiToken, StaffUser
from mediation.models.time import as_utc, utcnow
from mediation.services import keyring, staff_sessions
from mediation.services.audit import Actor, record
from mediation.services.errors import InvalidInput, NotFound, ServiceError
from mediation.vault import (
    KeyPair,
    VaultError,
    hash_login_password,
    open_text,
    seal_text,
    verify_login_password,
)

MIN_PASSWORD_LENGTH = 12
SETUP_TOKEN_LIFETIME = timedelta(days=7)
TOTP_ISSUER = "Compact Mediation"
# A hash of a random password: unknown emails cost the same time as wrong passwords.
_DUMMY_HASH: list[str] = []


class InvalidCredentials(ServiceError):
    default_message = "Enter a correct email address and password."


class InvalidCode(ServiceError):
    default_message = "Enter the 6-digit code shown in your authenticator app."


class ReplayedCode(ServiceError):
    default_message = "That code has already been used. Wait for a new code and enter it."


class InvalidSetupLink(ServiceError):
    default_message = "This set-up link is not valid or has expired. Ask an admin for a new one."


def actor_for(user: StaffUser) -> Actor:
    """The audit actor for a member of staff."""
    return Actor(kind="staff", label=f"{user.role}:{user.email}", id=user.id)


def normalise_email(raw: str) -> str:
    """Validate an email address's form and return it lower-cased."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(
            "Enter an email address in the correct format, like name@example.org"
        ) from exc
    return checked.normalized.lower()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Password must be {MIN_PASSWORD_LENGTH} characters or more.")
    if password.strip() == "" or len(set(password)) < 5:
        raise InvalidInput("Password is too easy to guess: use a few unrelated words.")


def find_by_email(session: Session, email: str) -> StaffUser | None:
    if "\x00" in email:  # no address holds one, and PostgreSQL refuses NUL in text
        return None
    return session.execute(
        select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower())
    ).scalar_one_or_none()


@dataclass(frozen=True)
class NewAccount:
    """A created account and the one-time secret to hand over (a set-up link token)."""

    user: StaffUser
    setup_token: str | None
    recovery_key: str | None


def create_staff_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    name: str,
    role: str,
    respondent_body_id: int | None = None,
    password: str | None = None,
    is_demo: bool = False,
) -> NewAccount:
    """Create a staff account; with no password, issue a set-up link instead. Caller commits."""
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise InvalidInput("Enter the person's full name.")
    if role not in ALL_ROLES:
        raise InvalidInput("Choose a role.")
    if role == RESPONDENT:
        body = session.get(RespondentBody, respondent_body_id) if respondent_body_id else None
        if body is None:
            raise InvalidInput("Choose the body this respondent works for.")
        if not body.confirmed:
            # Not on the list yet: a placeholder stands for every case of a body some
            # complainant named, so its staff would see cases against other bodies.
            raise InvalidInput("Confirm the public body at triage before inviting its staff.")
    else:
        respondent_body_id = None
    if find_by_email(session, email) is not None:
        raise InvalidInput("An account with that email address already exists.")
    user = StaffUser(
        email=email,
        name=name,
        role=role,
        respondent_body_id=respondent_body_id,
        is_demo=is_demo,
        active=True,
        session_version=1,
    )
    session.add(user)
    session.flush()
    record(session, actor, "user.created", details={"user_id": user.id, "role": role})
    token = None
    recovery = None
    if password is None:
        token = issue_setup_token(session, user, purpose="new")
    else:
        recovery = set_password(session, user, password)
    return NewAccount(user=user, setup_token=token, recovery_key=recovery)


def issue_setup_token(session: Session, user: StaffUser, purpose: str) -> str:
    """A single-use link token; only its hash is stored. Any earlier link of the user's
    stops working: a reset is often made because one went astray."""
    _retire_setup_tokens(session, user)
    token = secrets.token_urlsafe(32)
    session.add(
        SetupToken(
            user_id=user.id,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            purpose=purpose,
            expires_at=utcnow() + SETUP_TOKEN_LIFETIME,
        )
    )
    return token


def _retire_setup_tokens(session: Session, user: StaffUser) -> None:
    """Mark every unused set-up link of the user's as used (now)."""
    session.execute(
        update(SetupToken)
        .where(SetupToken.user_id == user.id, SetupToken.used_at.is_(None))
        .values(used_at=utcnow())
    )


def redeem_setup_token(session: Session, token: str) -> SetupToken:
    """The live set-up record for a token, or InvalidSetupLink."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    found = session.execute(
        select(SetupToken).where(SetupToken.token_hash == digest)
    ).scalar_one_or_none()
    if found is None or found.used_at is not None or as_utc(found.expires_at) < utcnow():
        raise InvalidSetupLink()
    if not found.user.active:
        raise InvalidSetupLink()
    return found


def complete_setup(
    session: Session, token: str, password: str, recovery_key: str | None = None
) -> tuple[StaffUser, str]:
    """Choose a password through a set-up link; returns the user and a new recovery key.

    After a reset, a recovery key keeps the user's key pair (and so their cases); without
    one a new key pair is made and a custodian has to re-seal the user's cases to it.
    """
    setup = redeem_setup_token(session, token)
    user = setup.user
    check_password_strength(password)
    kept_key = recovery_key is not None and keyring.active_key(session, user.id) is not None
    if kept_key:
        recovery = keyring.rewrap_with_recovery_key(session, user, recovery_key or "", password)
    else:
        recovery = keyring.create_staff_key(session, user, password)
    user.password_hash = hash_login_password(password)
    # A set-up begun before the link (by whoever held the old password) is not carried on.
    user.totp_pending_secret = None
    _end_every_session(session, user)
    setup.used_at = utcnow()
    _retire_setup_tokens(session, user)  # any other link, made before this one was used
    record(
        session,
        actor_for(user),
        "user.password_set",
        details={"purpose": setup.purpose, "key": "kept" if kept_key else "new"},
    )
    return user, recovery


def _end_every_session(session: Session, user: StaffUser) -> None:
    """Sign the user out everywhere: their session rows, the version their cookies carry,
    their held key wherever they were signed in, and their API tokens."""
    user.session_version = (user.session_version or 0) + 1
    staff_sessions.end_all(session, user.id)
    keyring.release_all_custody(session, user.id)
    # API tokens too (services.api_tokens): a token must not outlive its owner's access.
    session.execute(delete(StaffApiToken).where(StaffApiToken.user_id == user.id))


def set_password(session: Session, user: StaffUser, password: str) -> str:
    """Set the login hash and create the user's key pair; returns the new recovery key."""
    check_password_strength(password)
    user.password_hash = hash_login_password(password)
    _end_every_session(session, user)
    return keyring.create_staff_key(session, user, password)


def authenticate(session: Session, email: str, password: str) -> StaffUser:
    """Check email and password; unknown email and wrong password look the same."""
    user = find_by_email(session, email)
    if user is None or not user.password_hash or not user.active:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_login_password(secrets.token_urlsafe(16)))
        verify_login_password(_DUMMY_HASH[0], password)
        raise InvalidCredentials()
    if not verify_login_password(user.password_hash, password):
        raise InvalidCredentials()
    return user


def new_totp_secret() -> str:
    return pyotp.random_base32()


# An authenticator's secret is kept sealed to its user's own key pair, so the database alone
# (a copy of it, or someone who can read it) cannot make their codes: opening the secret
# needs the private key, which only the user's password unlocks, and the code is asked for
# just after the password. A secret stored in the clear before this is still accepted, and
# sealed the first time it is used.
SEALED_TOTP = "sealed:"


def _totp_context(user: StaffUser) -> str:
    return f"staff:{user.id}:second-factor"


def store_totp_secret(session: Session, user: StaffUser, secret: str) -> None:
    """Keep the secret sealed to the user's current public key (nothing secret needed)."""
    user.totp_secret = _sealed(session, user, secret, _totp_context(user))


def totp_secret_of(user: StaffUser, keypair: KeyPair | None) -> str | None:
    """The user's authenticator secret, opened with their key; None if it cannot be."""
    stored = user.totp_secret
    if stored and not stored.startswith(SEALED_TOTP):
        return stored  # kept in the clear before secrets were sealed
    return _opened(stored, keypair, _totp_context(user))


# A new authenticator's secret waits for its first code in the database, sealed like a
# confirmed one (under a context of its own), not in the session cookie: that is signed
# but readable, and a copy of it taken while the user set up would hold their second
# factor for good. Sealed to the user's key, it also survives a sign-in that expired
# between scanning the key and typing the code.
def _pending_context(user: StaffUser) -> str:
    return f"staff:{user.id}:second-factor-pending"


# How long a key offered for set-up is offered again (the time it was offered is sealed
# with it): long enough to finish a set-up interrupted after scanning, not so long that a
# key once on someone's screen becomes their second factor weeks later.
PENDING_SET_UP_LIFETIME = timedelta(hours=24)


def pending_totp_secret(session: Session, user: StaffUser, keypair: KeyPair) -> str:
    """The secret of the authenticator the user is setting up: the one already offered
    while it opens with their key and is recent, else a new one, kept sealed (needs
    flushing)."""
    offered = _pending_secret(user, keypair)
    if offered is not None:
        return offered
    secret = new_totp_secret()
    offered_at = int(utcnow().timestamp())
    sealed = _sealed(session, user, f"{secret} {offered_at}", _pending_context(user))
    # Written only over what this request read: two tabs opened at once must not each
    # offer a key and leave the user scanning the one that was overwritten.
    seen = user.totp_pending_secret
    written = session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            StaffUser.totp_pending_secret.is_(None)
            if seen is None
            else StaffUser.totp_pending_secret == seen,
        )
        .values(totp_pending_secret=sealed)
        .execution_options(synchronize_session=False)
    )
    if getattr(written, "rowcount", 1) == 0:
        session.refresh(user, ["totp_pending_secret"])
        offered = _pending_secret(user, keypair)
        if offered is not None:
            return offered  # the other tab's, which is the one kept
        raise InvalidInput("Your set-up changed in another window. Reload this page.")
    set_committed_value(user, "totp_pending_secret", sealed)
    return secret


def _pending_secret(user: StaffUser, keypair: KeyPair) -> str | None:
    opened = _opened(user.totp_pending_secret, keypair, _pending_context(user))
    secret, _, offered_at = (opened or "").partition(" ")
    if not secret or not offered_at.isdigit():
        return None
    if utcnow().timestamp() - int(offered_at) > PENDING_SET_UP_LIFETIME.total_seconds():
        return None
    return secret


def _sealed(session: Session, user: StaffUser, secret: str, context: str) -> str:
    key = keyring.active_key(session, user.id)
    if key is None:
        raise InvalidInput("Choose a password before setting up an authenticator.")
    envelope = seal_text(secret, keyring.public_key_of(key), context)
    return SEALED_TOTP + base64.b64encode(envelope).decode("ascii")


def _opened(stored: str | None, keypair: KeyPair | None, context: str) -> str | None:
    if not stored or not stored.startswith(SEALED_TOTP) or keypair is None:
        return None
    try:
        envelope = base64.b64decode(stored[len(SEALED_TOTP) :], validate=True)
        return open_text(envelope, keypair, context)
    except (VaultError, binascii.Error, ValueError):
        return None


def totp_uri(user: StaffUser, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _matching_counter(secret: str, code: str, at: float) -> int | None:
    totp = pyotp.TOTP(secret)
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    current = totp.timecode(datetime.fromtimestamp(at, UTC))
    for offset in (-1, 0, 1):
        counter = current + offset
        if hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def verify_totp(
    session: Session,
    user: StaffUser,
    code: str,
    secret: str | None = None,
    *,
    keypair: KeyPair | None = None,
) -> None:
    """Accept a current code once; a code already used (or an older one) is refused.

    The secret is the one given (while enrolling) or the user's own, opened with `keypair`
    (their unlocked key, held since they gave their password)."""
    secret = secret or totp_secret_of(user, keypair)
    if not secret:
        raise InvalidCode()
    counter = _matching_counter(secret, code, time.time())
    if counter is None:
        raise InvalidCode()
    if user.totp_last_counter is not None and counter <= user.totp_last_counter:
        raise ReplayedCode()
    user.totp_last_counter = counter
    if user.totp_secret and not user.totp_secret.startswith(SEALED_TOTP):
        store_totp_secret(session, user, secret)  # a secret kept in the clear: seal it now


def enrol_totp(session: Session, user: StaffUser, code: str, *, keypair: KeyPair) -> None:
    """Confirm the authenticator being set up (`pending_totp_secret`) by one valid code,
    then keep its secret as the user's own."""
    secret = _pending_secret(user, keypair)
    if secret is None:
        raise InvalidCode()
    verify_totp(session, user, code, secret=secret)
    store_totp_secret(session, user, secret)
    user.totp_pending_secret = None
    record(session, actor_for(user), "user.second_factor_enrolled")


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    if actor.id == user.id and not active:
        raise InvalidInput("You cannot deactivate your own account.")
    user.active = active
    _end_every_session(session, user)
    record(
        session,
        actor,
        "user.reactivated" if active else "user.deactivated",
        details={"user_id": user.id},
    )
    return user


def reset_access(session: Session, actor: Actor, user_id: int) -> str:
    """Issue a new set-up link and end the user's sessions (password forgotten, or the
    account or its authenticator lost). The old password stops working too: with the
    authenticator gone it would otherwise let whoever knows it set up their own."""
    user = session.get(StaffUser, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    _end_every_session(session, user)
    user.password_hash = None
    user.totp_secret = user.totp_pending_secret = None
    user.totp_last_counter = None
    record(session, actor, "user.reset_issued", details={"user_id": user.id})
    return issue_setup_token(session, user, purpose="reset")
