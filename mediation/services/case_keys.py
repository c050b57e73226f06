"""Who holds which case key: sealing keys to holders, opening them, re-sealing and shredding."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Boolean, and_, literal_column, select, update
from sqlalchemy.orm import Session

from mediation.domain.permissions import CASE_OFFICER
from mediation.models.cases import Case, SealedKey
from mediation.models.staff import StaffUser
from mediation.models.vault import StaffKey
from mediation.services.errors import NotAllowed
from mediation.services.keyring import active_key, public_key_of
from mediation.vault import (
    PASSPHRASE_KDF,
    TEST_KDF,
    KdfParams,
    KeyPair,
    PublicKey,
    keypair_from_private,
    open_sealed,
    seal,
)

CASE_KEY = "case"
IDENTITY_KEY = "identity"
STAFF = "staff"
COMPLAINANT = "complainant"


class NoCustodian(NotAllowed):
    default_message = (
        "There is no case officer with a key to hold this case. Run the key ceremony "
        "(flask --app mediation vault init) first."
    )


class NotAHolder(NotAllowed):
    default_message = "You do not hold a key for this case."


def passphrase_kdf() -> KdfParams:
    if current_app.config.get("VAULT_KDF_PROFILE") == "test":
        return TEST_KDF
    return PASSPHRASE_KDF


def grant_context(case: Case, key_kind: str) -> str:
    return f"case:{case.reference}:{key_kind}-key"


def field_context(case: Case, field: str) -> str:
    return f"case:{case.reference}:{field}"


def lock_case(session: Session, case: Case) -> Case:
    """Re-read the case under a lock: concurrent actions on it queue up here, and each sees
    the state the one before it left.

    Every write that seals to the case's keys, or opens a grant to seal it to someone else,
    takes this lock first, and so does `vault rotate` for each case: otherwise a message
    sealed while rotation runs would be sealed to a key that rotation then destroys.
    PostgreSQL locks the row FOR NO KEY UPDATE, which queues these writers on each other
    but not behind the KEY SHARE lock that inserting a message or note for the case takes
    (FOR UPDATE would, and two writers doing both would deadlock). SQLite has no row locks,
    so an UPDATE takes its database write lock, which waits for a rotation in progress to
    commit. SQLite takes that lock when an UPDATE starts, whether or not it matches a row:
    this one matches none (its condition ends `AND 0 = 1`), so that it changes nothing and
    fires no trigger (the lock alone leaves the queue's version, `queue_cache`, as it was).
    """
    if session.get_bind(mapper=Case.__mapper__).dialect.name == "sqlite":
        table = Case.__table__
        session.execute(
            update(table)
            .where(table.c.id == case.id, literal_column("0", Boolean))
            .values(id=table.c.id)
        )
    locked = session.execute(
        select(Case)
        .where(Case.id == case.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()
    session.expire(locked, ["grants"])  # grants made by the action before this one
    return locked


def case_sealing_key(session: Session, case: Case, key_kind: str = CASE_KEY) -> PublicKey:
    """The case's current public key of this kind, read under the case lock (lock_case)."""
    case = lock_case(session, case)
    public = case.case_public_key if key_kind == CASE_KEY else case.identity_public_key
    if public is None:
        raise NotAllowed("This case is closed and its records have been destroyed.")
    return PublicKey(case.suite, public)


@dataclass(frozen=True)
class Holder:
    """Someone a key can be sealed to: a staff user's current key, or the complainant."""

    kind: str
    user_id: int | None
    public_key: PublicKey


def custodians(session: Session) -> list[tuple[StaffUser, StaffKey]]:
    """Active case officers with a live, admitted key: they hold every case and identity key.

    A key is admitted by the key ceremony or by an existing custodian
    (`vault_admin.reseal_for_user`), never merely by creating a case officer's account.
    """
    rows = session.execute(
        select(StaffUser, StaffKey)
        .join(StaffKey, StaffKey.user_id == StaffUser.id)
        .where(
            StaffUser.role == CASE_OFFICER,
            StaffUser.active.is_(True),
            StaffKey.retired_at.is_(None),
            StaffKey.admitted_at.is_not(None),
        )
        .order_by(StaffUser.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def staff_holder(session: Session, user: StaffUser) -> Holder:
    key = active_key(session, user.id)
    if key is None:
        raise NotAllowed(f"{user.name} has no encryption key yet (they have not set a password).")
    return Holder(STAFF, user.id, public_key_of(key))


def complainant_holder(case: Case) -> Holder:
    return Holder(COMPLAINANT, None, PublicKey(case.complainant_suite, case.complainant_public_key))


def seal_grant(session: Session, case: Case, key_kind: str, private: KeyPair, to: Holder) -> None:
    """Seal a case or identity private key to one holder (replacing their old grant)."""
    for old in list(case.grants):
        same_holder = to.kind == COMPLAINANT or old.holder_user_id == to.user_id
        if old.key_kind == key_kind and old.holder_kind == to.kind and same_holder:
            case.grants.remove(old)
    case.grants.append(
        SealedKey(
            key_kind=key_kind,
            holder_kind=to.kind,
            holder_user_id=to.user_id,
            holder_key_id=to.public_key.key_id,
            envelope=seal(private.private, to.public_key, grant_context(case, key_kind)),
        )
    )


def open_grant(case: Case, key_kind: str, holder: KeyPair) -> KeyPair:
    """Open the case's key of this kind with a holder's private key, or NotAHolder."""
    for grant in case.grants:
        if grant.key_kind == key_kind and grant.holder_key_id == holder.key_id:
            private = open_sealed(grant.envelope, holder, grant_context(case, key_kind))
            return keypair_from_private(case.suite, private)
    raise NotAHolder()


def holds(case: Case, key_kind: str, holder_key_id: str) -> bool:
    return any(g.key_kind == key_kind and g.holder_key_id == holder_key_id for g in case.grants)


def case_officers_and_custodians(session: Session) -> tuple[list[StaffUser], list[Holder]]:
    """Every active case officer, and the keys of those who are custodians (as `custodians`
    reads them, or NoCustodian), in one query: intake seals a new case to the custodians
    and tells every case officer that it has arrived."""
    rows = session.execute(
        select(StaffUser, StaffKey)
        .outerjoin(
            StaffKey,
            and_(
                StaffKey.user_id == StaffUser.id,
                StaffKey.retired_at.is_(None),
                StaffKey.admitted_at.is_not(None),
            ),
        )
        .where(StaffUser.role == CASE_OFFICER, StaffUser.active.is_(True))
        .order_by(StaffUser.id, StaffKey.id)
    ).all()
    officers = list({row[0].id: row[0] for row in rows}.values())
    holders = [Holder(STAFF, row[0].id, public_key_of(row[1])) for row in rows if row[1]]
    if not holders:
        raise NoCustodian()
    return officers, holders


def custodian_holders(session: Session) -> list[Holder]:
    """Every custodian's current key as a holder to seal to, or NoCustodian."""
    people = custodians(session)
    if not people:
        raise NoCustodian()
    return [Holder(STAFF, user.id, public_key_of(key)) for user, key in people]


def revoke_staff_grants(case: Case, user_id: int, key_kind: str | None = None) -> None:
    """Destroy a staff member's sealed copies (e.g. a mediator taken off the case)."""
    for grant in list(case.grants):
        if grant.holder_user_id == user_id and key_kind in (None, grant.key_kind):
            case.grants.remove(grant)


def cases_held_by(session: Session, user_id: int) -> list[Case]:
    return list(
        session.execute(
            select(Case)
            .join(SealedKey, SealedKey.case_id == Case.id)
            .where(SealedKey.holder_user_id == user_id)
            .distinct()
            .order_by(Case.id)
        ).scalars()
    )
