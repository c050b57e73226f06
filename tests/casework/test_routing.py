"""Routing: the panel ranked with reasons, and never a conflicted, full or absent mediator
(property-based), plus the organisation check made inside a case officer's session."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from mediation.domain import routing
from mediation.extensions import db
from mediation.models.casework import MediatorOffer
from mediation.models.panel import MediatorProfile
from mediation.services import routing as routing_service
from mediation.services.errors import InvalidInput
from mediation.services.intake_bodies import placeholder_for
from mediation.services.panel import parse_interests
from mediation.services.workflow import ActionRefused
from tests import seeded
from tests.casework.conftest import Driver, add_profile

TODAY = date(2027, 3, 1)
CATEGORIES = ["independence", "consultation", "funding_process", "funding_change", "equality"]
REGIONS = ["north_west", "london", "south_west", "national"]
ORGANISATIONS = [
    "Ravensmoor Tenants Advice Collective",
    "The Ravensmoor Tenants Advice Collective Ltd",
    "Oakfield Youth Trust",
    "Marsh Women's Aid",
]

leave_periods = st.builds(
    lambda start, days: routing.LeavePeriod(
        TODAY + timedelta(days=start), TODAY + timedelta(days=start + days)
    ),
    st.integers(min_value=-30, max_value=40),
    st.integers(min_value=0, max_value=20),
)
members = st.builds(
    routing.PanelMember,
    user_id=st.integers(min_value=1, max_value=10_000),
    name=st.sampled_from(["Able", "Baker", "Cole", "Dee"]),
    active=st.booleans(),
    specialisms=st.frozensets(st.sampled_from(CATEGORIES)),
    regions=st.frozensets(st.sampled_from(REGIONS)),
    languages=st.frozensets(st.sampled_from(["en", "cy", "pl"])),
    capacity=st.integers(min_value=0, max_value=5),
    load=st.integers(min_value=0, max_value=6),
    leave=st.lists(leave_periods, max_size=2).map(tuple),
    conflict_body_ids=st.frozensets(st.integers(min_value=1, max_value=5)),
    conflict_organisations=st.lists(st.sampled_from(ORGANISATIONS), max_size=2).map(tuple),
    accredited=st.booleans(),
    cpd_hours=st.integers(min_value=0, max_value=20),
    cpd_last_date=st.one_of(st.none(), st.dates(date(2024, 1, 1), TODAY)),
)
needs = st.builds(
    routing.CaseNeeds,
    on=st.just(TODAY),
    categories=st.frozensets(st.sampled_from(CATEGORIES), min_size=1),
    region=st.sampled_from(REGIONS),
    language=st.sampled_from([None, "cy", "pl"]),
    respondent_body_id=st.integers(min_value=1, max_value=5),
    respondent_body_name=st.just("Marsh County Council"),
    complainant_organisation=st.sampled_from([None, *ORGANISATIONS]),
    min_cpd_hours=st.just(6),
)


def conflicted(member: routing.PanelMember, case: routing.CaseNeeds) -> bool:
    if case.respondent_body_id in member.conflict_body_ids:
        return True
    return bool(case.complainant_organisation) and any(
        routing.normalise_organisation(org).find(
            routing.normalise_organisation(case.complainant_organisation or "")
        )
        >= 0
        or routing.normalise_organisation(case.complainant_organisation or "").find(
            routing.normalise_organisation(org)
        )
        >= 0
        for org in member.conflict_organisations
    )


def absent(member: routing.PanelMember, on: date) -> bool:
    last = on + routing.LEAVE_HORIZON
    return any(p.start <= last and p.end >= on for p in member.leave)


@settings(max_examples=300, deadline=None)
@given(panel=st.lists(members, max_size=8, unique_by=lambda m: m.user_id), case=needs)
def test_routing_never_proposes_a_conflicted_full_or_absent_mediator(
    panel: list[routing.PanelMember], case: routing.CaseNeeds
) -> None:
    ranking = routing.rank(panel, case)
    for proposal in ranking.proposals:
        member = next(m for m in panel if m.user_id == proposal.user_id)
        assert member.active
        assert member.load < member.capacity, "full"
        assert not absent(member, case.on), "on leave"
        assert not conflicted(member, case), "conflicted"
        assert proposal.reasons
    # Everyone is either proposed or excluded with a reason, never silently dropped.
    assert len(ranking.proposals) + len(ranking.excluded) == len(panel)
    assert all(e.reasons for e in ranking.excluded)
    scores = [p.score for p in ranking.proposals]
    assert scores == sorted(scores, reverse=True)


@given(case=needs)
def test_a_mediator_with_any_declared_conflict_is_excluded_and_says_why(
    case: routing.CaseNeeds,
) -> None:
    assert case.respondent_body_id is not None
    member = routing.PanelMember(
        user_id=1, name="Able", capacity=3, conflict_body_ids=frozenset({case.respondent_body_id})
    )
    ranking = routing.rank([member], case)
    assert ranking.proposals == ()
    assert "declared an interest in the public body" in ranking.excluded[0].reasons


def test_reasons_show_why_one_mediator_ranks_above_another() -> None:
    case = routing.CaseNeeds(
        on=TODAY, categories=frozenset({"funding_change"}), region="north_west", language="cy"
    )
    good = routing.PanelMember(
        1,
        "Able",
        specialisms=frozenset({"funding_change"}),
        regions=frozenset({"north_west"}),
        languages=frozenset({"en", "cy"}),
        capacity=4,
        load=1,
        cpd_hours=10,
        cpd_last_date=TODAY - timedelta(days=30),
    )
    weak = routing.PanelMember(
        2, "Baker", regions=frozenset({"london"}), capacity=2, load=1, accredited=False
    )
    ranking = routing.rank([weak, good], routing.CaseNeeds(**{**case.__dict__, "min_cpd_hours": 6}))
    assert [p.name for p in ranking.proposals] == ["Able", "Baker"]
    assert "specialises in funding change" in ranking.proposals[0].reasons
    assert "speaks the language asked for (cy)" in ranking.proposals[0].reasons
    assert "no accreditation recorded" in ranking.proposals[1].reasons


def test_cpd_hours_count_only_when_the_last_cpd_is_within_the_year() -> None:
    """Ten hours recorded with a last CPD two years ago are not this year's hours: the
    mediator falls below the minimum and the reason says why."""
    case = routing.CaseNeeds(
        on=TODAY, categories=frozenset({"funding_change"}), region="london", min_cpd_hours=6
    )

    def member(last: date | None) -> routing.PanelMember:
        return routing.PanelMember(1, "Able", capacity=2, cpd_hours=10, cpd_last_date=last)

    current = routing.rank([member(TODAY - timedelta(days=200))], case).proposals[0]
    lapsed = routing.rank([member(TODAY - timedelta(days=730))], case).proposals[0]
    undated = routing.rank([member(None)], case).proposals[0]
    assert not any("CPD" in reason for reason in current.reasons)
    assert "no CPD recorded in the last year" in lapsed.reasons
    assert "no CPD recorded in the last year" in undated.reasons
    assert lapsed.score == current.score - routing.LOW_CPD_PENALTY


def test_organisation_names_match_despite_case_punctuation_and_filler() -> None:
    assert routing.organisations_match(
        "The Ravensmoor Tenants' Advice Collective Ltd", "ravensmoor tenants advice collective"
    )
    assert routing.organisations_match("Ravensmoor Tenants", "Ravensmoor Tenants Advice Collective")
    assert not routing.organisations_match("Trust", "Oakfield Youth Trust")
    assert not routing.organisations_match("Oakfield Youth Trust", "Marsh Women's Aid")


def test_the_complainant_organisation_is_checked_in_the_officers_session_only(
    driver: Driver,
) -> None:
    s = driver.s
    profile = db.session.query(MediatorProfile).filter_by(user_id=s.mediator.id).one()
    profile.interests = [{"organisation": "Ravensmoor Tenants Advice", "text": "Former trustee"}]
    db.session.commit()
    filed = driver.to("mediation_offered")
    ranking = routing_service.rank_for_case(db.session, s.officer, s.officer_key, filed.case)
    db.session.commit()  # the ranking's audit entry, as the routing page commits it
    excluded = {e.user_id: e.reasons for e in ranking.excluded}
    assert "declared an interest in the complainant organisation" in excluded[s.mediator.id]
    # The organisation's name is in no reason, and nowhere in the audit log.
    assert all(seeded.IDENTITY["organisation"] not in r for rs in excluded.values() for r in rs)
    with pytest.raises(InvalidInput, match="cannot be offered"):
        routing_service.propose(
            db.session,
            s.officer,
            s.officer_key,
            filed.case,
            mediator_id=s.mediator.id,
            summary="Summary",
        )
    db.session.rollback()
    assert db.session.query(MediatorOffer).count() == 0


def test_a_mediator_at_capacity_or_on_leave_cannot_be_offered_the_case(driver: Driver) -> None:
    s = driver.s
    profile = db.session.query(MediatorProfile).filter_by(user_id=s.mediator.id).one()
    soon = date.today() + timedelta(days=3)
    profile.leave = [{"start": soon.isoformat(), "end": (soon + timedelta(days=7)).isoformat()}]
    add_profile(s.second_officer, capacity=0)  # not a mediator: never on the panel
    db.session.commit()
    filed = driver.to("mediation_offered")
    ranking = routing_service.rank_for_case(db.session, s.officer, s.officer_key, filed.case)
    db.session.commit()  # the ranking's audit entry, as the routing page commits it
    assert not ranking.proposes(s.mediator.id)
    assert not ranking.proposes(s.second_officer.id)
    with pytest.raises((InvalidInput, ActionRefused)):
        routing_service.propose(
            db.session, s.officer, s.officer_key, filed.case, mediator_id=s.mediator.id, summary="x"
        )
    db.session.rollback()
    profile.leave = []
    profile.capacity = 1
    db.session.commit()
    driver.propose(filed.case)  # now free: offered, which fills the one place
    other = driver.to("mediation_offered")
    ranking = routing_service.rank_for_case(db.session, s.officer, s.officer_key, other.case)
    assert any("at capacity" in r for e in ranking.excluded for r in e.reasons)


def test_an_interest_can_name_only_a_confirmed_body(app: Flask) -> None:
    with app.app_context():
        placeholder = placeholder_for(db.session, "local_authority")
        db.session.commit()
        with pytest.raises(InvalidInput, match="no public body called that"):
            parse_interests(db.session, f"body: {placeholder.name} | matches every unlisted case")
