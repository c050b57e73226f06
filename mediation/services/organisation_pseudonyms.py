"""Organisation pseudonyms: random labels that link the cases of one complainant
organisation, so statistics count organisations and not cases. Set at triage."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.models.statistics import OrganisationPseudonym
from mediation.services.accounts import actor_for
from mediation.services.audit import record
from mediation.services.errors import InvalidInput
from mediation.services.statistics_inputs import (
    StatisticsKeys,
    amend_statistical_record,
    unlock_statistics,
)
from mediation.vault import KeyPair

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


def find_pseudonym(
    session: Session, keys: StatisticsKeys, organisation_name: str
) -> OrganisationPseudonym | None:
    normalised = normalise_organisation_name(organisation_name)
    digests = [_digest(secret, normalised) for secret in keys.symmetric.values()]
    return session.execute(
        select(OrganisationPseudonym).where(OrganisationPseudonym.name_digest.in_(digests))
    ).scalar_one_or_none()


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
    existing = find_pseudonym(session, keys, organisation_name)
    if existing is None:
        existing = OrganisationPseudonym(
            name_digest=_digest(keys.current_symmetric, normalised),
            digest_key_id=keys.current_symmetric_id,
            pseudonym=secrets.token_hex(8),
            # The organisation keeps this record key from now on, so the cell-key method
            # perturbs its cells the same way whichever of its cases they hold.
            record_key=case.record_key,
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
