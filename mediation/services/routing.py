"""Routing a case to a mediator: rank the panel, offer the case, and the mediator's answer.

The complainant organisation is compared with each mediator's declared interests inside
the case officer's session: the identity is opened in memory, the comparison made, and
nothing of it is stored or logged.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediation.domain import routing as ranking
from mediation.domain.clocks import standards
from mediation.domain.permissions import CASE_OFFICER, MEDIATOR
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case, SealedKey
from mediation.models.casework import AgreementToMediate, MediatorOffer
from mediation.models.panel import MediatorProfile
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services import case_keys, organisation_pseudonyms
from mediation.services.accounts import actor_for
from mediation.services.audit import record
from mediation.services.case_keys import CASE_KEY, field_context
from mediation.services.errors import InvalidInput, NotAllowed, NotFound
from mediation.services.keyring import active_key
from mediation.services.triage import triage_record
from mediation.services.workflow import perform
from mediation.vault import KeyPair, keypair_from_private, open_sealed, open_text, seal, seal_text

LIVE_OFFERS = ("offered", "accepted")
# A mediator is busy with a case while it is in these states.
BUSY_STATES = ("mediator_appointed", "in_mediation", "on_hold")
SUMMARY_LIMIT = 3000


def _leave(profile: MediatorProfile) -> tuple[ranking.LeavePeriod, ...]:
    periods = []
    for item in profile.leave or []:
        try:
            periods.append(
                ranking.LeavePeriod(
                    date.fromisoformat(item["start"]), date.fromisoformat(item["end"])
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(periods)


def loads(session: Session) -> dict[int, int]:
    """Cases each mediator has in hand, counting offers not yet answered."""
    counts: dict[int, int] = {}
    for user_id, count in session.execute(
        select(Case.mediator_id, func.count(Case.id))
        .where(Case.mediator_id.is_not(None), Case.state.in_(BUSY_STATES))
        .group_by(Case.mediator_id)
    ).all():
        if user_id is not None:
            counts[int(user_id)] = int(count)
    for user_id, count in session.execute(
        select(MediatorOffer.mediator_id, func.count(MediatorOffer.id))
        .where(MediatorOffer.status.in_(LIVE_OFFERS))
        .group_by(MediatorOffer.mediator_id)
    ).all():
        counts[int(user_id)] = counts.get(int(user_id), 0) + int(count)
    return counts


def panel(session: Session) -> list[ranking.PanelMember]:
    """Every mediator with a panel profile, as routing sees them."""
    load = loads(session)
    members = []
    for user, profile in session.execute(
        select(StaffUser, MediatorProfile)
        .join(MediatorProfile, MediatorProfile.user_id == StaffUser.id)
        .where(StaffUser.role == MEDIATOR)
        .order_by(StaffUser.name)
    ).all():
        interests = profile.interests or []
        members.append(
            ranking.PanelMember(
                user_id=user.id,
                name=user.name,
                active=bool(user.active),
                specialisms=frozenset(profile.specialisms or []),
                regions=frozenset(profile.regions or []),
                languages=frozenset(profile.languages or []),
                capacity=int(profile.capacity or 0),
                load=load.get(user.id, 0),
                leave=_leave(profile),
                conflict_body_ids=frozenset(
                    int(i["body_id"]) for i in interests if i.get("body_id") is not None
                ),
                conflict_organisations=tuple(
                    str(i["organisation"]) for i in interests if i.get("organisation")
                ),
                accredited=bool(profile.accreditation_body and profile.accredited_on),
                cpd_hours=int(profile.cpd_hours or 0),
                cpd_last_date=profile.cpd_last_date,
            )
        )
    return members


def needs_for(session: Session, officer_key: KeyPair, case: Case, on: date) -> ranking.CaseNeeds:
    triaged = triage_record(session, case)
    body = session.get(RespondentBody, case.respondent_body_id) if case.respondent_body_id else None
    return ranking.CaseNeeds(
        on=on,
        categories=frozenset(triaged.categories if triaged else []),
        region=body.region if body else None,
        language=triaged.language if triaged and triaged.language != "en" else None,
        respondent_body_id=body.id if body else None,
        respondent_body_name=body.name if body else None,
        complainant_organisation=organisation_pseudonyms.organisation_of(case, officer_key),
        min_cpd_hours=standards().mediator_min_cpd_hours_per_year,
    )


def rank_for_case(
    session: Session, officer: StaffUser, officer_key: KeyPair, case: Case
) -> ranking.Ranking:
    """The panel ranked for this case, with reasons; conflicted, full and absent excluded."""
    if officer.role != CASE_OFFICER:
        raise NotAllowed("Only a case officer can route a case.")
    result = ranking.rank(panel(session), needs_for(session, officer_key, case, utcnow().date()))
    record(
        session,
        actor_for(officer),
        "routing.ranked",
        case_reference=case.reference,
        details={"proposed": len(result.proposals), "excluded": len(result.excluded)},
    )
    return result


def live_offer(
    session: Session, case: Case, mediator_id: int | None = None
) -> MediatorOffer | None:
    query = select(MediatorOffer).where(
        MediatorOffer.case_id == case.id, MediatorOffer.status.in_((*LIVE_OFFERS, "confirmed"))
    )
    if mediator_id is not None:
        query = query.where(MediatorOffer.mediator_id == mediator_id)
    return session.execute(query.order_by(MediatorOffer.id.desc()).limit(1)).scalar_one_or_none()


def propose(
    session: Session,
    officer: StaffUser,
    officer_key: KeyPair,
    case: Case,
    *,
    mediator_id: int,
    summary: str,
    expected_state: str | None = None,
) -> MediatorOffer:
    """Offer the case to a mediator the ranking proposes. Caller commits.

    The workflow step comes first: it takes the case's row lock, so of two case officers
    offering the same case at once, the second is refused and changes nothing.
    """
    summary = summary.strip()
    if len(summary) > SUMMARY_LIMIT:
        raise InvalidInput(f"Keep the summary under {SUMMARY_LIMIT} characters.")
    perform(
        session,
        case,
        "appoint_mediator",
        actor_for(officer),
        role=CASE_OFFICER,
        fields={"mediator_id": str(mediator_id), "summary": summary},
        expected_state=expected_state,
    )
    mediator = session.get(StaffUser, mediator_id)
    if mediator is None or mediator.role != MEDIATOR:
        raise InvalidInput("Choose a mediator from the panel.")
    result = ranking.rank(panel(session), needs_for(session, officer_key, case, utcnow().date()))
    if not result.proposes(mediator_id):
        # Never offered to someone conflicted, full or away, whatever the form said.
        raise InvalidInput(f"{mediator.name} cannot be offered this case; choose from the list.")
    holder = case_keys.staff_holder(session, mediator)
    case_key = case_keys.open_grant(case, CASE_KEY, officer_key)
    offer = MediatorOffer(
        case_id=case.id,
        mediator_id=mediator.id,
        offered_by_id=officer.id,
        status="offered",
        offered_on=utcnow().date(),
        pending_case_key=seal(
            case_key.private, holder.public_key, case_keys.grant_context(case, CASE_KEY)
        ),
        holder_key_id=holder.public_key.key_id,
    )
    session.add(offer)
    session.flush()
    offer.summary = seal_text(summary, holder.public_key, _summary_context(case, offer))
    return offer


def _summary_context(case: Case, offer: MediatorOffer) -> str:
    return field_context(case, f"offer:{offer.id}:summary")


def read_summary(case: Case, offer: MediatorOffer, mediator_key: KeyPair) -> str:
    if offer.summary is None:
        return ""
    return open_text(offer.summary, mediator_key, _summary_context(case, offer))


def offers_for(session: Session, mediator: StaffUser) -> list[tuple[MediatorOffer, Case]]:
    """The mediator's offers waiting for an answer or a conflict declaration."""
    rows = session.execute(
        select(MediatorOffer, Case)
        .join(Case, Case.id == MediatorOffer.case_id)
        .where(MediatorOffer.mediator_id == mediator.id, MediatorOffer.status.in_(LIVE_OFFERS))
        .order_by(MediatorOffer.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def _my_offer(session: Session, mediator: StaffUser, case: Case, status: str) -> MediatorOffer:
    offer = live_offer(session, case, mediator.id)
    if offer is None or offer.status != status:
        raise NotFound("There is no offer of this case waiting for you.")
    return offer


def accept(session: Session, mediator: StaffUser, case: Case) -> MediatorOffer:
    """Yes to the anonymised summary: the names are shown next, for a conflict check."""
    perform(session, case, "mediator_accept", actor_for(mediator), role=MEDIATOR)
    offer = _my_offer(session, mediator, case, "offered")
    offer.status = "accepted"
    offer.answered_on = utcnow().date()
    return offer


def declare_no_conflict(session: Session, mediator: StaffUser, case: Case) -> MediatorOffer:
    """With the names known, no conflict: the case key becomes the mediator's grant."""
    perform(
        session,
        case,
        "declare_no_conflict",
        actor_for(mediator),
        role=MEDIATOR,
        fields={"no_conflict": "confirmed"},
    )
    offer = _my_offer(session, mediator, case, "accepted")
    key = active_key(session, mediator.id)
    if key is None or offer.pending_case_key is None or key.key_id != offer.holder_key_id:
        raise InvalidInput("Your key has changed since the offer: ask a case officer to re-offer.")
    case.grants.append(
        SealedKey(
            key_kind=CASE_KEY,
            holder_kind=case_keys.STAFF,
            holder_user_id=mediator.id,
            holder_key_id=key.key_id,
            envelope=offer.pending_case_key,
        )
    )
    offer.pending_case_key = None
    offer.status = "confirmed"
    case.mediator_id = mediator.id
    return offer


def _release(session: Session, case: Case, offer: MediatorOffer, status: str) -> None:
    offer.status = status
    offer.answered_on = utcnow().date()
    offer.pending_case_key = None
    case_keys.revoke_staff_grants(case, offer.mediator_id)
    if case.mediator_id == offer.mediator_id:
        case.mediator_id = None
        # The parties signed to mediate with this mediator: with another they sign again.
        terms = session.execute(
            select(AgreementToMediate).where(AgreementToMediate.case_id == case.id)
        ).scalar_one_or_none()
        if terms is not None:
            terms.complainant_signed_on = terms.respondent_signed_on = None


# The workflow's own steps of an offer, which answer it themselves (`accept`, `decline`,
# `cancel` ...); any other step that takes the case where no offer waits ends it.
OFFER_STEPS = frozenset(
    {
        "appoint_mediator",
        "mediator_accept",
        "declare_no_conflict",
        "mediator_decline",
        "cancel_appointment",
        "mediator_withdraw",
        "begin_mediation",
    }
)
OFFER_WAITS = frozenset({"mediator_appointed", "on_hold"})


def end_offers_left_behind(
    session: Session, case: Case, action: str, from_state: str, to_state: str
) -> None:
    """A case withdrawn, or declined by the public body, while an offer waited: the offer
    ends (cancelled) and the pending key with it, or the mediator would count it among
    their cases for good and hold the case's key. An offer waits only in `OFFER_WAITS`,
    so other moves need no look."""
    if from_state not in OFFER_WAITS or to_state in OFFER_WAITS or action in OFFER_STEPS:
        return
    for offer in session.execute(
        select(MediatorOffer).where(
            MediatorOffer.case_id == case.id, MediatorOffer.status.in_(LIVE_OFFERS)
        )
    ).scalars():
        _release(session, case, offer, "cancelled")


def decline(session: Session, mediator: StaffUser, case: Case, reason: str) -> MediatorOffer:
    """No to the offer (or a conflict once names are known): the case goes back. Only
    the mediator it was offered to: checked before the workflow moves anything."""
    offer = live_offer(session, case, mediator.id)
    if offer is None:
        raise NotFound("There is no offer of this case waiting for you.")
    perform(
        session,
        case,
        "mediator_decline",
        actor_for(mediator),
        role=MEDIATOR,
        fields={"reason": reason},
    )
    _release(session, case, offer, "declined")
    return offer


def withdraw(session: Session, mediator: StaffUser, case: Case, reason: str) -> MediatorOffer:
    """A mediator leaves a case in mediation (a conflict found later): keys taken back.
    Only the case's own mediator: checked before the workflow moves anything."""
    offer = live_offer(session, case, mediator.id)
    if offer is None:
        raise NotFound("You are not the mediator of this case.")
    perform(
        session,
        case,
        "mediator_withdraw",
        actor_for(mediator),
        role=MEDIATOR,
        fields={"reason": reason},
    )
    _release(session, case, offer, "withdrawn")
    return offer


def cancel(
    session: Session, officer: StaffUser, case: Case, reason: str, expected_state: str | None = None
) -> None:
    """A case officer takes back an offer (no answer, say); the mediator is told."""
    offered = live_offer(session, case)
    fields = {"reason": reason}
    if offered is not None:
        fields["mediator_id"] = str(offered.mediator_id)
    perform(
        session,
        case,
        "cancel_appointment",
        actor_for(officer),
        role=CASE_OFFICER,
        fields=fields,
        expected_state=expected_state,
    )
    offer = live_offer(session, case)
    if offer is not None:
        _release(session, case, offer, "cancelled")


def open_pending_key(case: Case, offer: MediatorOffer, mediator_key: KeyPair) -> KeyPair:
    """For tests and rotation: the case key held in a pending offer."""
    assert offer.pending_case_key is not None
    private = open_sealed(
        offer.pending_case_key, mediator_key, case_keys.grant_context(case, CASE_KEY)
    )
    return keypair_from_private(case.suite, private)
