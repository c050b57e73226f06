"""Vault ceremonies: the first custodian, re-sealing after a lost password, rotation, purge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mediation.domain.permissions import CASE_OFFICER, MEDIATOR
from mediation.models.cases import Case, CaseDocument, CaseMessage, SealedKey
from mediation.models.intake import ComplainantSession
from mediation.models.staff import StaffUser
from mediation.models.statistics import StatisticsKey, StatisticsKeyGrant
from mediation.services import (
    accounts,
    case_keys,
    casework_keys,
    keyring,
    sealed_reasons,
    settings,
)
from mediation.services.accounts import NewAccount
from mediation.services.audit import Actor, record
from mediation.services.case_keys import (
    CASE_KEY,
    COMPLAINANT,
    IDENTITY_KEY,
    Holder,
    field_context,
)
from mediation.services.errors import InvalidInput, NotAllowed
from mediation.vault import KeyPair, generate_keypair, open_sealed, seal


def init_ceremony(session: Session, *, email: str, name: str, password: str) -> NewAccount:
    """Create the first case officer (the first custodian), with a key pair and recovery key."""
    if case_keys.custodians(session):
        raise InvalidInput("The vault already has a custodian; add case officers as users.")
    created = accounts.create_staff_user(
        session,
        Actor.system("vault init"),
        email=email,
        name=name,
        role=CASE_OFFICER,
        password=password,
    )
    keyring.admit_as_custodian(session, created.user, by=None)
    record(
        session,
        Actor.system("vault init"),
        "vault.initialised",
        details={"custodian_id": created.user.id},
    )
    return created


def _live_cases(session: Session) -> list[Case]:
    return list(
        session.execute(
            select(Case).where(Case.keys_destroyed_on.is_(None)).order_by(Case.id)
        ).scalars()
    )


@dataclass(frozen=True)
class ResealResult:
    cases: int
    grants: int


def reseal_for_user(
    session: Session, officer: StaffUser, officer_key: KeyPair, user: StaffUser
) -> ResealResult:
    """Give a user (new custodian, or one who lost their password) their keys again.

    A case officer gets every case and identity key; a mediator gets the case key of cases
    assigned to them, and identity keys they had been approved for. Needs a custodian's
    unlocked key: with no custodian left, nothing can be recovered (by design).
    """
    if officer.role != CASE_OFFICER or officer.id == user.id:
        raise NotAllowed("Another case officer (a custodian) must do this.")
    holder = case_keys.staff_holder(session, user)
    # Every live case locked first, in id order, as rotation does, and before the audit
    # log's head (held from the first entry to the commit): a writer holding a case's
    # lock and waiting for the head would otherwise wait on us as we wait on it.
    locked = [case_keys.lock_case(session, listed) for listed in _live_cases(session)]
    if user.role == CASE_OFFICER and keyring.admit_as_custodian(session, user, by=officer):
        _grant_statistics_key(session, officer_key, user)
        record(
            session,
            accounts.actor_for(officer),
            "vault.custodian_admitted",
            details={"user_id": user.id, "key_id": holder.public_key.key_id},
        )
    cases = grants = 0
    for case in locked:
        # Under the case lock, as rotation takes it: a key sealed here while rotation
        # replaced the case's keys would be a copy of a key about to be destroyed.
        if case.keys_destroyed_on is not None:
            continue
        kinds: list[str] = []
        if user.role == CASE_OFFICER:
            kinds = [CASE_KEY, IDENTITY_KEY]
        elif user.role == MEDIATOR and case.mediator_id == user.id:
            kinds = [CASE_KEY]
            had_identity = any(
                g.key_kind == IDENTITY_KEY and g.holder_user_id == user.id for g in case.grants
            )
            if had_identity:
                kinds.append(IDENTITY_KEY)
        touched = False
        for kind in kinds:
            if case_keys.holds(case, kind, holder.public_key.key_id):
                continue
            private = case_keys.open_grant(case, kind, officer_key)
            case_keys.seal_grant(session, case, kind, private, holder)
            grants += 1
            touched = True
        cases += touched
    record(
        session,
        accounts.actor_for(officer),
        "vault.resealed_for_user",
        details={"user_id": user.id, "cases": cases, "grants": grants},
    )
    return ResealResult(cases, grants)


def _grant_statistics_key(session: Session, officer_key: KeyPair, user: StaffUser) -> None:
    from mediation.services import statistical_records

    key = session.execute(
        select(StatisticsKey).where(StatisticsKey.retired_at.is_(None))
    ).scalar_one_or_none()
    if key is None:
        return
    holder = case_keys.staff_holder(session, user)
    already = session.execute(
        select(StatisticsKeyGrant.id).where(
            StatisticsKeyGrant.statistics_key_id == key.id,
            StatisticsKeyGrant.holder_key_id == holder.public_key.key_id,
        )
    ).first()
    if already is None:
        pair = statistical_records.open_statistics_key(session, officer_key, key)
        statistical_records.grant_statistics_key(session, key, pair, user.id, holder.public_key)


def _reseal_field(envelope: bytes | None, old: KeyPair, new: KeyPair, context: str) -> bytes | None:
    if envelope is None:
        return None
    return seal(open_sealed(envelope, old, context), new.public_key(), context)


def _current_holder(session: Session, grant: SealedKey, case: Case) -> Holder | None:
    """Who gets the new key in place of this grant: the same holder on the same key.

    A staff member whose key changed since (a reset without the recovery key makes a new,
    unadmitted key) gets nothing here: a custodian re-seals to them on purpose
    (`reseal_for_user`), so rotation can never hand a case to a key nobody vouched for.
    """
    if grant.holder_kind == COMPLAINANT:
        return case_keys.complainant_holder(case)
    user = session.get(StaffUser, grant.holder_user_id)
    if user is None or not user.active:
        return None
    key = keyring.active_key(session, user.id)
    if key is None or key.key_id != grant.holder_key_id:
        return None
    return Holder("staff", user.id, keyring.public_key_of(key))


def rotate(session: Session, officer: StaffUser, officer_key: KeyPair, suite: str) -> int:
    """New case and identity key pairs for every live case; every sealed field re-sealed.

    Each holder gets the new keys sealed to their current key. Returns the number of cases.
    The statistics keys are rotated too (first, so an officer who does not hold them is
    refused before anything changes).
    """
    from mediation.services import statistical_records, statistics_releases

    # Every live case locked first, in id order as every other writer takes one case: so
    # nothing is sealed to a case's old keys while they are replaced, and no writer that
    # holds a case's lock waits on a statistical record this rotation already holds.
    locked = [case_keys.lock_case(session, listed) for listed in _live_cases(session)]
    # Statistics: new statistics key pair and symmetric key; every statistical record and
    # the organisation digest key re-sealed to them, so no pseudonym link is lost.
    records = statistical_records.rotate_statistics_keys(session, officer_key, suite)
    # And what each statistics release counted, which the revisions policy reads.
    statistics_releases.reseal_release_counts(session, officer_key)
    count = 0
    for case in locked:
        if case.keys_destroyed_on is not None:
            continue  # purged since it was listed
        old_case = case_keys.open_grant(case, CASE_KEY, officer_key)
        old_identity = case_keys.open_grant(case, IDENTITY_KEY, officer_key)
        new_case = generate_keypair(suite)
        new_identity = generate_keypair(suite)
        case.narrative = _reseal_field(
            case.narrative, old_case, new_case, field_context(case, "narrative")
        )
        case.identity = _reseal_field(
            case.identity, old_identity, new_identity, field_context(case, "identity")
        )
        for message in session.execute(
            select(CaseMessage).where(CaseMessage.case_id == case.id)
        ).scalars():
            message.body = _reseal_field(
                message.body, old_case, new_case, field_context(case, f"message:{message.id}")
            )
        for document in session.execute(
            select(CaseDocument).where(CaseDocument.case_id == case.id)
        ).scalars():
            document.name = _reseal_field(
                document.name,
                old_case,
                new_case,
                field_context(case, f"document:{document.id}:name"),
            )
            document.content = _reseal_field(
                document.content,
                old_case,
                new_case,
                field_context(case, f"document:{document.id}:content"),
            )
            document.cleaning = _reseal_field(
                document.cleaning,
                old_case,
                new_case,
                field_context(case, f"document:{document.id}:cleaning"),
            )
        casework_keys.reseal_case(session, case, old_case, new_case)
        sealed_reasons.reseal(session, case, old_case, new_case)
        old_grants = list(case.grants)
        case.grants.clear()
        session.flush()
        case.suite = suite
        case.case_public_key, case.case_key_id = new_case.public, new_case.key_id
        case.identity_public_key, case.identity_key_id = new_identity.public, new_identity.key_id
        for grant in old_grants:
            holder = _current_holder(session, grant, case)
            if holder is None:
                continue
            private = new_case if grant.key_kind == CASE_KEY else new_identity
            case_keys.seal_grant(session, case, grant.key_kind, private, holder)
        count += 1
    record(
        session,
        accounts.actor_for(officer),
        "vault.rotated",
        details={"cases": count, "statistical_records": records, "suite": suite},
    )
    return count


def _still_due(case: Case, cutoff: date) -> bool:
    """Closed on or before the cutoff and not yet shredded (read under the case lock)."""
    return (
        case.keys_destroyed_on is None and case.closed_on is not None and case.closed_on <= cutoff
    )


def purge_expired(session: Session, today: date | None = None) -> list[str]:
    """Crypto-shred cases closed longer than the retention period; keep the statistics."""
    today = today or date.today()
    months = settings.get_setting(session, "retention_months")
    cutoff = today - relativedelta(months=months)
    listed = list(
        session.execute(
            select(Case)
            .where(
                Case.closed_on.is_not(None),
                Case.closed_on <= cutoff,
                Case.keys_destroyed_on.is_(None),
            )
            .order_by(Case.id)
        ).scalars()
    )
    # Every due case locked first, in id order, as rotation does: a writer sealing to the
    # case either holds the lock first and commits before the purge reads the case's rows
    # (so its message is destroyed below), or waits and is refused by `case_sealing_key`.
    # Locking all before destroying any: the first destruction's audit entry holds the
    # audit log's head, which a writer holding a later case's lock would wait on.
    locked = [case_keys.lock_case(session, case) for case in listed]
    purged = []
    for case in locked:
        if not _still_due(case, cutoff):
            continue  # reopened (a contested closure) or purged by another run since listed
        case.grants.clear()
        case.narrative = case.identity = case.identity_copy = None
        case.shared_identity = None
        case.case_public_key = case.identity_public_key = None
        for message in session.execute(
            select(CaseMessage).where(CaseMessage.case_id == case.id)
        ).scalars():
            message.body = None
        for document in session.execute(
            select(CaseDocument).where(CaseDocument.case_id == case.id)
        ).scalars():
            document.name = document.content = document.cleaning = None
        casework_keys.forget_case(session, case)
        sealed_reasons.forget(session, case)
        # A complainant signed in holds their key in custody: nothing left to open with it.
        session.execute(delete(ComplainantSession).where(ComplainantSession.case_id == case.id))
        case.keys_destroyed_on = today
        record(
            session,
            Actor.system("retention"),
            "case.keys_destroyed",
            case_reference=case.reference,
            details={"retention_months": months},
        )
        purged.append(case.reference)
    return purged


@dataclass(frozen=True)
class MissingKeys:
    """A colleague whose current key does not yet open some of the cases they should hold,
    or a case officer whose key no custodian has admitted yet."""

    user: StaffUser
    cases: int
    admitted: bool = True


def users_missing_keys(session: Session) -> list[MissingKeys]:
    """Case officers not holding every live case; mediators not holding their assigned ones."""
    from sqlalchemy import func

    live = select(Case.id).where(Case.keys_destroyed_on.is_(None))
    result = []
    staff = session.execute(
        select(StaffUser).where(
            StaffUser.active.is_(True), StaffUser.role.in_([CASE_OFFICER, MEDIATOR])
        )
    ).scalars()
    for user in staff:
        key = keyring.active_key(session, user.id)
        if key is None:
            continue
        should = live if user.role == CASE_OFFICER else live.where(Case.mediator_id == user.id)
        held = select(SealedKey.case_id).where(
            SealedKey.holder_key_id == key.key_id, SealedKey.key_kind == CASE_KEY
        )
        missing = session.execute(
            select(func.count()).select_from(should.where(Case.id.not_in(held)).subquery())
        ).scalar_one()
        admitted = user.role != CASE_OFFICER or key.admitted_at is not None
        if missing or not admitted:
            result.append(MissingKeys(user, int(missing), admitted))
    return result
