"""Organisation pseudonyms: random labels that link the cases of one complainant
organisation, so statistics count organisations and not cases. Set at triage.

What is stored, per organisation: a random pseudonym, its own random record key for the
cell-key method (drawn for it, never a case's: no readable value links a pseudonym to a
case, or two cases to each other), the date it was first seen, and a digest of its
normalised name: HMAC-SHA256 under the **organisation digest key**. Which cases carry
the pseudonym is only inside their sealed statistical records. The name itself is never
stored or logged.

The digest key is 32 random bytes, made on first use and sealed (HPKE) to the live
statistics public key, whose private half is sealed to each custodian's staff key, itself
wrapped by Argon2id of their password. The database and `instance/` together therefore
cannot open it, so the server alone can neither read a name nor test a guessed one
against the digests; a custodian's session can.

Key rotation (`flask vault rotate`, `statistical_records.rotate_statistics_keys`) makes a
new statistics key pair and symmetric key, re-seals every statistical record to them, and
re-seals the digest key to the new statistics key *in place*: no copy of it stays under
the retired key. The digest key itself is kept, never replaced, so every digest made
before a rotation still matches after it, and an organisation that complains again is
linked to its pseudonym and counted once.

Why not re-derive every digest under a new key at each rotation instead: the names are
reachable only by opening each case's sealed identity, and the identities of purged
cases are gone by design (crypto-shredding, G9). Their organisations' digests could then
only be kept under the retired key or dropped; dropped, an organisation that complains
again gets a second pseudonym and, with a short retention setting (down to one month),
counts twice in a year that also holds its purged case. Counting one organisation twice
weakens disclosure control: a cell of nine real organisations could be published as ten.
Re-deriving would also make the link depend on the name in the identity matching the
name given at triage, and would read every identity during a key ceremony. Keeping one
digest key sealed to whatever statistics key is live loses no link and adds no reader.

What a stable key does not give: someone who once obtained the digest key (a custodian's
password and a copy of the database) can keep testing guessed names against later
digests, and rotation does not take that back. They learn that an organisation has
complained at some time (and the date of its first case), not against which body: the
pseudonym's cases are in the sealed records, under the renewed keys.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.models.statistics import OrganisationDigestKey, OrganisationPseudonym, StatisticsKey
from mediation.services import case_keys
from mediation.services.accounts import actor_for
from mediation.services.audit import record
from mediation.services.case_keys import IDENTITY_KEY, NotAHolder, field_context
from mediation.services.errors import InvalidInput
from mediation.services.statistics_inputs import (
    StatisticsKeys,
    amend_statistical_record,
    unlock_statistics,
)
from mediation.vault import (
    KeyPair,
    PublicKey,
    generate_symmetric_key,
    open_sealed,
    open_text,
    seal,
    symmetric_key_id,
)

DIGEST_KEY_CONTEXT = "statistics-organisation-digest-key"
_DIGEST_LABEL = b"compact-mediation/v1\x00organisation-pseudonym\x00"
# Words that vary between mentions of the same organisation without changing which it is.
_NOISE_WORDS = frozenset({"the", "ltd", "limited", "cic", "cio", "inc", "charity", "trust"})


def normalise_organisation_name(name: str) -> str:
    """The form two spellings of one organisation's name share ("The Ravensmoor Tenants'
    Collective Ltd" and "ravensmoor tenants collective")."""
    folded = unicodedata.normalize("NFKC", name).casefold().replace("&", " and ")
    words = re.sub(r"[^\w\s]", "", folded).split()
    return " ".join(word for word in words if word not in _NOISE_WORDS)


def _digest(secret: bytes, normalised: str) -> str:
    # A keyed hash: without the (custodian-held) key, the database cannot test a name.
    key = hmac.new(secret, _DIGEST_LABEL, hashlib.sha256).digest()
    return hmac.new(key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def _digest_key_row(session: Session) -> OrganisationDigestKey | None:
    return session.execute(select(OrganisationDigestKey)).scalar_one_or_none()


def _open(session: Session, keys: StatisticsKeys, row: OrganisationDigestKey) -> bytes:
    sealed_to = session.get(StatisticsKey, row.statistics_key_id)
    pair = keys.pairs.get(sealed_to.key_id) if sealed_to is not None else None
    if pair is None:
        raise NotAHolder("You do not hold the statistics key that opens the organisation digests.")
    return open_sealed(row.envelope, pair, DIGEST_KEY_CONTEXT)


def open_digest_key(session: Session, keys: StatisticsKeys) -> tuple[str, bytes]:
    """The organisation digest key (its id and secret), opened with the statistics keys of
    a custodian's session; made and sealed to the live statistics key on first use."""
    row = _digest_key_row(session)
    if row is not None:
        return row.key_id, _open(session, keys, row)
    assert keys.current_public is not None
    live = session.execute(
        select(StatisticsKey).where(StatisticsKey.key_id == keys.current_public.key_id)
    ).scalar_one()
    secret = generate_symmetric_key()
    row = OrganisationDigestKey(
        key_id=symmetric_key_id(secret),
        statistics_key_id=live.id,
        envelope=seal(secret, keys.current_public, DIGEST_KEY_CONTEXT),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another case officer made it at the same moment: use theirs, so that one name
        # never has two digests.
        row = _digest_key_row(session)
        assert row is not None
        return row.key_id, _open(session, keys, row)
    return row.key_id, secret


def reseal_digest_key(session: Session, keys: StatisticsKeys, to: StatisticsKey) -> bool:
    """Re-seal the digest key to another statistics key (rotation), replacing its only
    envelope; the key and so every digest stay the same. False if there is none yet."""
    row = _digest_key_row(session)
    if row is None:
        return False
    secret = _open(session, keys, row)
    row.envelope = seal(secret, PublicKey(to.suite, to.public_key), DIGEST_KEY_CONTEXT)
    row.statistics_key_id = to.id
    return True


def find_pseudonym(
    session: Session, keys: StatisticsKeys, organisation_name: str
) -> OrganisationPseudonym | None:
    _, secret = open_digest_key(session, keys)
    digest = _digest(secret, normalise_organisation_name(organisation_name))
    return session.execute(
        select(OrganisationPseudonym).where(OrganisationPseudonym.name_digest == digest)
    ).scalar_one_or_none()


def organisation_of(case: Case, officer_key: KeyPair) -> str | None:
    """The complainant organisation's name, read from the sealed identity in memory with a
    custodian's key (never stored, logged or shown by this function)."""
    if case.identity is None:
        return None
    identity_key = case_keys.open_grant(case, IDENTITY_KEY, officer_key)
    identity = json.loads(open_text(case.identity, identity_key, field_context(case, "identity")))
    organisation = identity.get("organisation")
    return str(organisation) if organisation else None


def set_organisation_pseudonym(
    session: Session,
    officer: StaffUser,
    officer_key: KeyPair,
    case: Case,
    organisation_name: str,
) -> str:
    """Link the case to its organisation's pseudonym (made on first sight). Call at triage,
    with the organisation's name as the complainant gave it. Caller commits.

    The name is neither stored nor logged: only a keyed hash of it, and the pseudonym goes
    into the case's sealed statistical record. An anonymous case is refused: it counts as
    an organisation of its own.
    """
    if case.openness == "anonymous":
        raise InvalidInput(
            "An anonymous complaint counts as an organisation of its own: there is no "
            "organisation to link it to."
        )
    normalised = normalise_organisation_name(organisation_name)
    if not normalised:
        raise InvalidInput("Enter the name of the complainant organisation.")
    keys = unlock_statistics(session, officer_key)
    digest_key_id, secret = open_digest_key(session, keys)
    digest = _digest(secret, normalised)
    existing = session.execute(
        select(OrganisationPseudonym).where(OrganisationPseudonym.name_digest == digest)
    ).scalar_one_or_none()
    if existing is None:
        existing = OrganisationPseudonym(
            name_digest=digest,
            digest_key_id=digest_key_id,
            pseudonym=secrets.token_hex(8),
            # The organisation keeps this record key from now on, so the cell-key method
            # perturbs its cells the same way whichever of its cases they hold. Random, and
            # never a case's own (readable) record key: that would name the case that made
            # the pseudonym.
            record_key=secrets.randbelow(2**31),
            created_on=date.today(),
        )
        session.add(existing)
        session.flush()
    amend_statistical_record(
        session,
        keys,
        case,
        organisation=existing.pseudonym,
        organisation_key=existing.record_key,
    )
    record(
        session,
        actor_for(officer),
        "statistics.organisation_linked",
        case_reference=case.reference,
    )
    return existing.pseudonym
