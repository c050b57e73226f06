"""Moving a case's complainant key to today's passphrase KDF when the complainant signs in.

A case stores the Argon2id parameters its complainant key was derived with; cases filed
before the lighter profile keep the heavy one, which costs every sign-in attempt at their
reference about 200 ms (G12) and lets a stranger tell by timing that the reference exists
(G11). Only the passphrase can derive a new key, so the move happens at the one moment the
server has it: a successful sign-in.
"""

from __future__ import annotations

import hmac

from sqlalchemy import delete
from sqlalchemy.orm import Session

from mediation.models.cases import Case
from mediation.models.intake import ComplainantSession
from mediation.services import case_keys
from mediation.services.audit import Actor, record
from mediation.services.case_keys import COMPLAINANT, Holder, field_context
from mediation.services.complaints import UnknownCaseOrPassphrase
from mediation.vault import (
    KdfParams,
    KeyPair,
    new_salt,
    open_text,
    passphrase_keypair,
    seal_text,
)


def is_current(case: Case) -> bool:
    """Whether the case's complainant key was derived with today's parameters."""
    return KdfParams.from_dict(case.complainant_kdf) == case_keys.passphrase_kdf()


def upgrade_on_sign_in(session: Session, case: Case, passphrase: str, derived: KeyPair) -> KeyPair:
    """The complainant's key after sign-in: ``derived`` when the case already uses today's
    parameters, else a new key from the same passphrase, a fresh salt and today's
    parameters, with everything sealed to the old key re-sealed to it. Caller commits.

    Under the case lock (before the audit head, as everywhere), so that a message, a
    rotation or a purge of the case queues with it; a sign-in that raced this one and moved
    the case first leaves it on today's parameters, and the key is derived again with them.
    """
    if is_current(case):
        return derived
    case = case_keys.lock_case(session, case)
    if case.keys_destroyed_on is not None:  # purged while the passphrase was checked
        raise UnknownCaseOrPassphrase(
            "This case has closed and its records have been destroyed, as we promised."
        )
    if case.complainant_key_id != derived.key_id:
        return _derived_again(case, passphrase)
    today = case_keys.passphrase_kdf()
    salt = new_salt()
    renewed = passphrase_keypair(passphrase, salt, case.complainant_suite, today)
    to = Holder(COMPLAINANT, None, renewed.public_key())
    # Every key the old one holds: the case key (and any other kind granted since).
    for grant in [g for g in case.grants if g.holder_key_id == derived.key_id]:
        private = case_keys.open_grant(case, grant.key_kind, derived)
        case_keys.seal_grant(session, case, grant.key_kind, private, to)
    if case.identity_copy is not None:
        context = field_context(case, "identity-copy")
        case.identity_copy = seal_text(
            open_text(case.identity_copy, derived, context), to.public_key, context
        )
    case.complainant_salt = salt
    case.complainant_kdf = today.to_dict()
    case.complainant_public_key = renewed.public
    case.complainant_key_id = renewed.key_id
    # Sessions signed in with the old key could no longer open anything.
    session.execute(
        delete(ComplainantSession).where(
            ComplainantSession.case_id == case.id, ComplainantSession.key_id == derived.key_id
        )
    )
    session.flush()
    # A key change is audited, as `vault rotate` is: which case, never the parameters'
    # secrets (salt, key) and kept to the day like every complainant act.
    record(
        session, Actor.complainant(), "case.complainant_key_renewed", case_reference=case.reference
    )
    return renewed


def _derived_again(case: Case, passphrase: str) -> KeyPair:
    """The key under the parameters another sign-in just moved the case to (cheap now)."""
    again = passphrase_keypair(
        passphrase,
        case.complainant_salt,
        case.complainant_suite,
        KdfParams.from_dict(case.complainant_kdf),
    )
    if not hmac.compare_digest(again.key_id, case.complainant_key_id):
        raise UnknownCaseOrPassphrase()
    return again
