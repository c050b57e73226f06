"""Sealing a new complaint, and the complainant's and staff's ways back into it."""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.domain.document_cleaning import CleaningNote
from mediation.domain.visible_text import visible
from mediation.models.cases import Case, CaseMessage
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services import case_keys
from mediation.services.audit import Actor, record
from mediation.services.case_keys import CASE_KEY, IDENTITY_KEY, field_context
from mediation.services.errors import InvalidInput, ServiceError
from mediation.vault import (
    KdfParams,
    KeyPair,
    generate_keypair,
    generate_passphrase,
    new_salt,
    open_text,
    passphrase_keypair,
    seal_text,
)

OPENNESS_LEVELS = ("anonymous", "confidential", "open")
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: easy on the phone
_REFERENCE_SHAPE = re.compile(r"CM-[0-9A-Z]{4}-[0-9A-Z]{4}")


class UnknownCaseOrPassphrase(ServiceError):
    default_message = "The case reference or passphrase is not right. Check both and try again."


def new_reference() -> str:
    """A random reference like CM-4K7Q-9RTX (about 39 bits; readable over the phone)."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"CM-{chars[:4]}-{chars[4:]}"


def normalise_reference(raw: str) -> str:
    cleaned = "".join(ch for ch in raw.upper() if ch.isalnum())
    if cleaned.startswith("CM"):
        cleaned = cleaned[2:]
    return f"CM-{cleaned[:4]}-{cleaned[4:]}" if len(cleaned) == 8 else raw.strip().upper()


@dataclass(frozen=True)
class Filed:
    """What the complainant is shown once: the reference and the passphrase."""

    case: Case
    reference: str
    passphrase: str
    # Each document filed with it, by name, with what was removed from it.
    cleaned: tuple[tuple[str, CleaningNote], ...] = ()


# What an open complaint shares with the public body: who complained and how to reach
# them, not how they asked us to keep in touch.
NOT_SHARED = frozenset({"email_updates"})


def shared_part(identity: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in identity.items() if key not in NOT_SHARED}


def file_complaint(
    session: Session,
    *,
    openness: str,
    narrative: str,
    identity: dict[str, Any] | None,
    respondent_body_id: int | None,
) -> Filed:
    """Seal and store a new complaint; the server keeps no key that opens it. Caller commits."""
    filed = seal_new_case(
        session,
        openness=openness,
        narrative=narrative,
        identity=identity,
        respondent_body_id=respondent_body_id,
    )
    record(session, Actor.complainant(), "case.submitted", case_reference=filed.reference)
    return filed


def seal_new_case(
    session: Session,
    *,
    openness: str,
    narrative: str,
    identity: dict[str, Any] | None,
    respondent_body_id: int | None,
    custodians: list[case_keys.Holder] | None = None,
) -> Filed:
    """`file_complaint` without its audit entry, for a caller that writes "case.submitted"
    itself together with its own entries (intake, services/intake.py), and may have read
    the custodians to seal to already. Caller commits."""
    if openness not in OPENNESS_LEVELS:
        raise InvalidInput("Choose how open your complaint is.")
    if openness == "anonymous" and identity:
        raise InvalidInput("An anonymous complaint cannot include who you are.")
    if openness != "anonymous" and not identity:
        raise InvalidInput("Tell us who you are, or choose to complain anonymously.")
    # Read once for both keys, and before the case is added: a query after it would flush
    # the case on its own, and its grants would then be read back (none) before the first
    # one is added. Added now, the case and all its grants go in one flush.
    holders = custodians if custodians is not None else case_keys.custodian_holders(session)
    suite = str(current_app.config["VAULT_SUITE"])
    case_pair = generate_keypair(suite)
    identity_pair = generate_keypair(suite)
    passphrase = generate_passphrase()
    salt = new_salt()
    kdf = case_keys.passphrase_kdf()
    complainant = passphrase_keypair(passphrase, salt, suite, kdf)
    reference = _unused_reference(session)
    case = Case(
        reference=reference,
        openness=openness,
        state="submitted",
        respondent_body_id=respondent_body_id,
        submitted_on=date.today(),
        record_key=secrets.randbelow(2**31),
        suite=suite,
        case_public_key=case_pair.public,
        case_key_id=case_pair.key_id,
        identity_public_key=identity_pair.public,
        identity_key_id=identity_pair.key_id,
        complainant_salt=salt,
        complainant_suite=suite,
        complainant_public_key=complainant.public,
        complainant_key_id=complainant.key_id,
        complainant_kdf=kdf.to_dict(),
    )
    case.narrative = seal_text(narrative, case_pair.public_key(), field_context(case, "narrative"))
    if identity:
        case.identity = seal_text(
            json.dumps(identity, sort_keys=True),
            identity_pair.public_key(),
            field_context(case, "identity"),
        )
        case.identity_copy = seal_text(
            json.dumps(identity, sort_keys=True),
            complainant.public_key(),
            field_context(case, "identity-copy"),
        )
    if openness == "open" and identity:
        case.shared_identity = shared_part(identity)
    session.add(case)
    for key_kind, pair in ((CASE_KEY, case_pair), (IDENTITY_KEY, identity_pair)):
        for holder in holders:
            case_keys.seal_grant(session, case, key_kind, pair, holder)
    case_keys.seal_grant(session, case, CASE_KEY, case_pair, case_keys.complainant_holder(case))
    session.flush()
    return Filed(case, reference, passphrase)


def _unused_reference(session: Session) -> str:
    while True:
        reference = new_reference()
        if session.execute(select(Case.id).where(Case.reference == reference)).first() is None:
            return reference


def find_case(session: Session, reference: str) -> Case | None:
    """The case with this reference (as typed: spaces, dashes and case do not matter), or
    None. What cannot be a reference is not looked up (a NUL fails PostgreSQL's text)."""
    reference = normalise_reference(reference)
    if not _REFERENCE_SHAPE.fullmatch(reference):
        return None
    return session.execute(select(Case).where(Case.reference == reference)).scalar_one_or_none()


# A fixed decoy so that an unknown reference costs one key derivation, like a real one.
_DECOY_SALT = b"\x00" * 16


def complainant_keypair(session: Session, reference: str, passphrase: str) -> tuple[Case, KeyPair]:
    """Re-derive the complainant's key; unknown reference and wrong passphrase look the same."""
    case = find_case(session, reference)
    suite = case.complainant_suite if case else str(current_app.config["VAULT_SUITE"])
    salt = case.complainant_salt if case else _DECOY_SALT
    kdf = KdfParams.from_dict(case.complainant_kdf) if case else case_keys.passphrase_kdf()
    try:
        derived = passphrase_keypair(passphrase, salt, suite, kdf)
    except ValueError as exc:  # nothing is left of what was typed once it is normalised
        raise UnknownCaseOrPassphrase() from exc
    expected = case.complainant_key_id if case else "0" * 32
    if not hmac.compare_digest(derived.key_id, expected) or case is None:
        raise UnknownCaseOrPassphrase()
    if case.keys_destroyed_on is not None:
        raise UnknownCaseOrPassphrase(
            "This case has closed and its records have been destroyed, as we promised."
        )
    return case, derived


def complainant_case_key(case: Case, complainant: KeyPair) -> KeyPair:
    return case_keys.open_grant(case, CASE_KEY, complainant)


def read_narrative(case: Case, case_key: KeyPair) -> str:
    if case.narrative is None:
        return ""
    return open_text(case.narrative, case_key, field_context(case, "narrative"))


def staff_case_key(session: Session, user: StaffUser, user_key: KeyPair, case: Case) -> KeyPair:
    """A staff member's way into a case: only with a sealed grant (custodian or assigned)."""
    key = case_keys.open_grant(case, CASE_KEY, user_key)
    record(
        session,
        Actor(kind="staff", label=f"{user.role}:{user.email}", id=user.id),
        "case.opened",
        case_reference=case.reference,
    )
    return key


def add_message(
    session: Session,
    case: Case,
    author: Actor,
    text: str,
    audience: str = "complainant",
) -> CaseMessage:
    """Seal a message to the case key: anyone may add, only holders can read."""
    if not visible(text):
        raise InvalidInput("Enter a message.")
    if case.case_public_key is None:
        raise InvalidInput("This case is closed and its records have been destroyed.")
    # The case lock before the row: a refused message (its case purged meanwhile) leaves
    # nothing behind, and the message is sealed to the key the case has once it is ours.
    public = case_keys.case_sealing_key(session, case)
    message = CaseMessage(
        case_id=case.id,
        author_kind=author.kind,
        author_id=author.id if author.kind == "staff" else None,
        audience=audience,
        sent_on=utcnow().date(),
    )
    session.add(message)
    session.flush()
    message.body = seal_text(text, public, field_context(case, f"message:{message.id}"))
    record(session, author, "message.added", case_reference=case.reference)
    return message


def read_messages(session: Session, case: Case, case_key: KeyPair) -> list[tuple[CaseMessage, str]]:
    messages = session.execute(
        select(CaseMessage).where(CaseMessage.case_id == case.id).order_by(CaseMessage.id)
    ).scalars()
    return [
        (m, open_text(m.body, case_key, field_context(case, f"message:{m.id}")) if m.body else "")
        for m in messages
    ]
