"""Every row of the transition table, from every one of its source states, performed on a
real case through the services; and every action refused where the table says no."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select

from mediation.domain import workflow
from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.cases import Case, CaseEvent
from mediation.services import complaints, outcomes, respondents, routing, triage
from mediation.services.workflow import ActionRefused, perform
from tests.casework.conftest import Driver, staff_browser

PAIRS = [(t.action, source) for t in workflow.TRANSITIONS for source in sorted(t.sources)]


def start_state(action: str, source: str) -> str:
    # The public body can answer the offer only before it has answered it.
    if action in {"respondent_accept", "respondent_decline"} and source == "mediator_appointed":
        return "mediator_appointed_unanswered"
    return source


def doer(driver: Driver, filed: complaints.Filed, action: str) -> Callable[[], None]:
    """How the product performs each action: the service a view or the CLI would call."""
    s = driver.s
    case = filed.case

    def commit(fn: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            fn()
            db.session.commit()

        return run

    officer_reason = {
        "start_informal": {"reason": "A phone call may settle it"},
        "resolve_informally": {"reason": "The council restored the grant"},
        "put_on_hold": {"reason": "A related court case"},
        "uphold_closure": {"reason": "The agreement was kept"},
        "reopen": {"reason": "New evidence of a breach"},
        "decline": {"decline_reason": "premature", "reason": "Raise it with the body first"},
        "refer": {"referred_to": "local_government_ombudsman"},
    }
    if action in {"acknowledge", "start_triage", "check_implementation", "resume"}:
        return lambda: driver.officer_act(case, action)
    if action in {"decline", "start_informal", "offer_mediation"} and case.state == "triage":
        decision = {"decline": "decline", "start_informal": "informal"}.get(action, "mediation")
        fields = officer_reason.get(action, {})
        return commit(
            lambda: triage.decide(
                db.session,
                s.officer,
                case,
                decision=decision,
                reason=fields.get("reason", ""),
                decline_reason=fields.get("decline_reason", ""),
            )
        )
    if action in officer_reason or action == "offer_mediation":
        return lambda: driver.officer_act(case, action, **officer_reason.get(action, {}))
    if action in {"submit", "withdraw"}:
        return lambda: driver.complainant_act(case, action)
    if action in {"contest_closure", "report_adverse_treatment"}:
        return lambda: driver.complainant_act(case, action, reason="They cut us off again")
    if action == "respondent_accept":
        return lambda: driver.respondent_agrees(case)
    if action == "respondent_decline":
        return commit(
            lambda: respondents.answer_mediation(
                db.session, s.respondent, case.reference, agree=False, reason="Not now"
            )
        )
    if action == "respondent_reply":
        return commit(lambda: respondents.reply(db.session, s.respondent, case.reference, "Noted"))
    if action == "propose_resolution":
        return commit(
            lambda: respondents.propose_resolution(
                db.session, s.respondent, case.reference, "Reinstate the grant from April"
            )
        )
    if action == "appoint_mediator":
        return lambda: driver.propose(case)
    if action == "cancel_appointment":
        return commit(lambda: routing.cancel(db.session, s.officer, case, "No answer for a week"))
    if action == "mediator_accept":
        return commit(lambda: routing.accept(db.session, s.mediator, case))

    def declare() -> None:
        routing.accept(db.session, s.mediator, case)
        db.session.commit()
        routing.declare_no_conflict(db.session, s.mediator, case)
        db.session.commit()

    if action == "declare_no_conflict":
        return declare
    if action == "mediator_decline":
        return commit(lambda: routing.decline(db.session, s.mediator, case, "Fully booked"))

    def begin() -> None:
        driver.mediator_confirms(case)
        driver.signatures(case)
        driver.mediator_act(case, "begin_mediation")

    if action == "begin_mediation":
        return begin
    if action == "mediator_withdraw":
        return lambda: driver.mediator_act(case, action, reason="A conflict came to light")
    if action == "record_agreement":
        return lambda: driver.mediator_act(case, action, agreement="partial")
    if action == "record_no_agreement":
        return lambda: driver.mediator_act(case, action, reason="No common ground")
    if action == "close":
        result = {"withdrawn": "withdrawn", "not_accepted": "out_of_scope"}.get(
            case.state, "no_agreement_referred"
        )
        return lambda: driver.close(case, result)
    raise AssertionError(f"no way to perform {action}")


@pytest.mark.parametrize(("action", "source"), PAIRS)
def test_every_transition_moves_a_real_case_and_records_it(
    driver: Driver, action: str, source: str
) -> None:
    if source == "draft":
        filed = driver.file()
        filed.case.state = "draft"
        db.session.commit()
    else:
        filed = driver.to(start_state(action, source))
    case = filed.case
    before_hold = case.state_before_hold
    transition = workflow.BY_ACTION[action]
    expected = {workflow.STAY: source, workflow.RESUME: before_hold}.get(
        transition.target, transition.target
    )

    doer(driver, filed, action)()

    db.session.refresh(case)
    assert case.state == expected
    event = (
        db.session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc())
        )
        .scalars()
        .first()
    )
    assert event is not None and event.action == action
    assert (event.from_state, event.to_state) == (source, expected)
    logged = db.session.execute(
        select(func.count()).where(
            AuditEntry.case_reference == case.reference, AuditEntry.action == f"case.{action}"
        )
    ).scalar_one()
    assert logged >= 1


def _counts(case: Case) -> tuple[str, int, int]:
    db.session.refresh(case)
    events = db.session.execute(
        select(func.count()).where(CaseEvent.case_id == case.id)
    ).scalar_one()
    entries = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    return case.state, events, entries


REACHABLE = [s for s in workflow.STATES if s != "draft"]


@pytest.mark.parametrize("state", REACHABLE)
def test_actions_the_table_does_not_allow_are_refused_and_change_nothing(
    driver: Driver, state: str
) -> None:
    filed = driver.to(state)
    case = filed.case
    before = _counts(case)
    refused = 0
    for transition in workflow.TRANSITIONS:
        if state in transition.sources:
            continue
        for role in sorted(transition.roles):
            actor = driver.s.officer if role != "complainant" else None
            with pytest.raises(ActionRefused) as caught:
                perform(
                    db.session,
                    case,
                    transition.action,
                    complaints_actor(actor),
                    role=role,
                    fields=dict.fromkeys(transition.required, "x"),
                )
            db.session.rollback()
            assert "cannot" in str(caught.value)
            refused += 1
    assert _counts(case) == before
    assert refused > 0


def complaints_actor(user: object) -> object:
    from mediation.services.accounts import actor_for
    from mediation.services.audit import Actor

    return Actor.complainant() if user is None else actor_for(user)  # type: ignore[arg-type]


def test_a_role_not_in_the_row_is_refused_with_a_clear_message(driver: Driver) -> None:
    filed = driver.to("in_mediation")
    case = filed.case
    before = _counts(case)
    with pytest.raises(ActionRefused, match="Your role cannot record an agreement"):
        perform(
            db.session,
            case,
            "record_agreement",
            complaints_actor(driver.s.officer),  # type: ignore[arg-type]
            role="case_officer",
            fields={"agreement": "full"},
        )
    db.session.rollback()
    assert _counts(case) == before


def test_guards_refuse_until_their_facts_hold(driver: Driver) -> None:
    filed = driver.to("mediator_appointed")
    case = filed.case
    with pytest.raises(ActionRefused, match="not yet accepted the case"):
        perform(
            db.session,
            case,
            "begin_mediation",
            complaints_actor(driver.s.mediator),  # type: ignore[arg-type]
            role="mediator",
        )
    db.session.rollback()
    driver.mediator_confirms(case)
    with pytest.raises(ActionRefused, match="agreement to mediate"):
        driver.mediator_act(case, "begin_mediation")
    db.session.rollback()
    closing = driver.to("implementation_check")
    with pytest.raises(ActionRefused, match="Record the outcome"):
        outcomes.close_case(db.session, driver.s.officer, closing.case)
    db.session.rollback()


def test_a_duplicate_is_declined_only_with_the_case_it_repeats_and_is_linked(
    driver: Driver,
) -> None:
    original = driver.to("triage").case
    repeat = driver.to("triage").case
    with pytest.raises(ActionRefused, match="duplicate of"):
        triage.decide(
            db.session,
            driver.s.officer,
            repeat,
            decision="decline",
            reason="Same complaint again",
            decline_reason="duplicate",
        )
    db.session.rollback()
    triage.decide(
        db.session,
        driver.s.officer,
        repeat,
        decision="decline",
        reason="Same complaint again",
        decline_reason="duplicate",
        duplicate_of=original.reference.lower(),
    )
    db.session.commit()
    assert repeat.state == "not_accepted"
    assert [(kind, c.reference) for kind, c in triage.links(db.session, repeat)] == [
        ("duplicate of", original.reference)
    ]
    assert [kind for kind, _ in triage.links(db.session, original)] == ["repeated by"]


def test_a_referral_is_a_code_from_the_list_never_free_text(app: Flask, driver: Driver) -> None:
    """The event and the audit entry keep only codes: a name typed as the destination
    (which could identify someone) is refused, and nothing changes."""
    case = driver.to("triage").case
    with pytest.raises(ActionRefused, match="referred to from the list"):
        driver.officer_act(case, "refer", referred_to="Jo Bloggs at Marsh council")
    db.session.rollback()
    db.session.refresh(case)
    assert case.state == "triage"
    driver.officer_act(case, "refer", referred_to="charity_commission")
    event = db.session.execute(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "refer")
    ).scalar_one()
    assert event.details == {"referred_to": "charity_commission"}
    officer = staff_browser(app, driver.s.logins["officer"])
    assert ", to Charity Commission" in officer.get(f"/casework/cases/{case.reference}").text


def test_the_refer_action_offers_the_list_of_destinations(app: Flask, driver: Driver) -> None:
    filed = driver.to("respondent_declined")
    officer = staff_browser(app, driver.s.logins["officer"])
    page = officer.get(f"/casework/cases/{filed.reference}").text
    assert '<select class="select" id="referred-refer" name="referred_to">' in page
    assert '<option value="housing_ombudsman">Housing Ombudsman</option>' in page
    response = officer.post(
        f"/casework/cases/{filed.reference}/action",
        data={"action": "refer", "expected_state": "respondent_declined", "referred_to": "x"},
        follow_redirects=True,
    )
    assert "Choose where the case is referred to from the list." in response.text
    db.session.refresh(filed.case)
    assert filed.case.state == "respondent_declined"


@pytest.mark.parametrize("leave", ["decline", "withdraw"])
def test_a_mediator_the_case_is_not_theirs_moves_nothing_even_uncommitted(
    app: Flask, driver: Driver, leave: str
) -> None:
    """Declining or withdrawing checks the offer before the workflow moves anything, so
    no caller's order of rollback is what keeps another mediator's case in place."""
    from mediation.services.errors import NotFound

    filed = driver.to("mediator_appointed" if leave == "decline" else "in_mediation")
    case = filed.case
    entries = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    with pytest.raises(NotFound):
        getattr(routing, leave)(db.session, driver.s.other_mediator, case, "Not mine")
    db.session.flush()
    assert case.state == ("mediator_appointed" if leave == "decline" else "in_mediation")
    assert db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == entries
    db.session.rollback()
