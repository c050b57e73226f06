"""What casework leaves behind for others: the emails each workflow move queues, and the
triaged categories and recorded result that statistics read once a case is closed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

from mediation.domain.statistics_periods import Period
from mediation.domain.workflow import BY_ACTION
from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.casework import Notification, Outcome
from mediation.services import notifications, outcomes, respondents, statistical_records
from mediation.services.statistics_inputs import collect_inputs, unlock_statistics
from tests.casework.conftest import Driver, Staffed, staff_browser


def test_every_transition_either_notifies_or_is_silent_on_purpose() -> None:
    notifying, silent = set(notifications.ON_ACTION), set(notifications.SILENT_ACTIONS)
    assert notifying.isdisjoint(silent)
    assert notifying | silent == set(BY_ACTION)


def _told_since(marker: int, staffed: Staffed, case_id: int) -> set[str]:
    rows = db.session.execute(select(Notification).where(Notification.id > marker)).scalars()
    told: set[str] = set()
    for row in rows:
        if row.recipient_kind == notifications.COMPLAINANT:
            assert row.case_id == case_id
            told.add("complainant")
            continue
        names = {
            staffed.officer.id: "officer",
            staffed.second_officer.id: "second officer",
            staffed.mediator.id: "mediator",
            staffed.respondent.id: "public body",
        }
        told.add(names.get(row.recipient_user_id or 0, f"someone else ({row.recipient_user_id})"))
    return told


def _last_notification() -> int:
    return int(db.session.execute(select(func.coalesce(func.max(Notification.id), 0))).scalar())


MOVES: dict[str, tuple[str, Callable[[Driver, Case], None], set[str]]] = {
    "put on hold during mediation": (
        "in_mediation",
        lambda d, c: d.officer_act(c, "put_on_hold", reason="A judicial review"),
        {"complainant", "public body", "mediator"},
    ),
    "agreement checked": (
        "agreement",
        lambda d, c: d.officer_act(c, "check_implementation"),
        {"complainant", "public body"},
    ),
    "informal resolution recorded": (
        "informal_resolution",
        lambda d, c: d.officer_act(c, "resolve_informally", reason="Grant reinstated"),
        {"complainant", "public body"},
    ),
    "referred after no agreement": (
        "no_agreement",
        lambda d, c: d.officer_act(c, "refer", referred_to="local_government_ombudsman"),
        {"complainant", "public body", "mediator"},
    ),
    "public body agrees to mediate": (
        "mediation_offered",
        lambda d, c: _respondent_agrees(d, c),
        {"complainant", "officer", "second officer"},
    ),
    "mediator withdraws": (
        "in_mediation",
        lambda d, c: d.mediator_act(c, "mediator_withdraw", reason="A conflict found late"),
        {"complainant", "public body", "officer", "second officer"},
    ),
    "complainant withdraws during mediation": (
        "in_mediation",
        lambda d, c: d.complainant_act(c, "withdraw"),
        {"public body", "mediator", "officer", "second officer"},
    ),
}


def _respondent_agrees(driver: Driver, case: Case) -> None:
    respondents.answer_mediation(db.session, driver.s.respondent, case.reference, agree=True)
    db.session.commit()


@pytest.mark.parametrize("move", sorted(MOVES))
def test_a_move_that_concerns_the_parties_tells_them(
    driver: Driver, staffed: Staffed, move: str
) -> None:
    state, act, expected = MOVES[move]
    filed = driver.to(state)
    marker = _last_notification()
    act(driver, filed.case)
    assert _told_since(marker, staffed, filed.case.id) == expected


def test_taking_a_case_off_hold_tells_the_parties(driver: Driver, staffed: Staffed) -> None:
    filed = driver.to("in_mediation")
    driver.officer_act(filed.case, "put_on_hold", reason="A judicial review")
    marker = _last_notification()
    driver.officer_act(filed.case, "resume")
    told = _told_since(marker, staffed, filed.case.id)
    assert told == {"complainant", "public body", "mediator"}


def test_a_closed_case_gives_statistics_its_triaged_categories_and_result(
    driver: Driver, staffed: Staffed
) -> None:
    filed = driver.file()
    # At intake the complainant chose another category; triage's choice is what counts.
    statistical_records.record_at_intake(
        db.session,
        filed.case,
        categories=["consultation"],
        body_type="local_authority",
        region="north_west",
        size_band="small",
    )
    db.session.commit()
    for step in driver.path("closed", filed):
        step()
    db.session.refresh(filed.case)
    assert filed.case.state == "closed" and filed.case.closed_on == date.today()
    outcome = db.session.execute(
        select(Outcome).where(Outcome.case_id == filed.case.id)
    ).scalar_one()
    assert outcome.result == "mediated_agreement_full"

    keys = unlock_statistics(db.session, staffed.officer_key)
    inputs = collect_inputs(db.session, keys, Period(date.today().year))
    mine = [row for row in inputs.cases if row.submitted_on == filed.case.submitted_on]
    assert len(mine) == 1
    assert mine[0].categories == ("funding_change",)
    assert mine[0].result == "mediated_agreement_full"
    assert mine[0].closed_on == date.today()


def test_the_mediators_outcome_form_keeps_what_the_case_officer_recorded(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    """Both roles share one outcome form: opening it again shows every recorded answer, so
    saving it does not drop the payment's amount or the relationship ratings."""
    filed = driver.to("agreement")
    outcomes.record_outcome(
        db.session,
        staffed.officer,
        filed.case,
        result="mediated_agreement_full",
        remedies=[outcomes.RemedyInput("payment", 1200)],
        sought=["payment"],
        relationship_before=2,
        relationship_after=4,
    )
    db.session.commit()
    mediator = staff_browser(app, staffed.logins["mediator"])
    page = mediator.get(f"/mediator/cases/{filed.reference}/outcome").text
    assert 'value="1200"' in page
    assert '<option selected value="2">' in page or '<option value="2" selected' in page
    assert '<option selected value="4">' in page or '<option value="4" selected' in page


@pytest.mark.parametrize("chosen", [["", "not_a_remedy"], ["  ", "payment", "nope"], [""]])
def test_an_outcome_with_blank_or_unknown_remedies_is_refused_or_read_as_none(
    app: Flask, driver: Driver, staffed: Staffed, chosen: list[str]
) -> None:
    """A blank first choice once erased the refusal of the unknown ones after it, and the
    unknown remedy then failed the request (found by form fuzzing)."""
    filed = driver.to("agreement")
    mediator = staff_browser(app, staffed.logins["mediator"])
    answer = mediator.post(
        f"/mediator/cases/{filed.reference}/outcome",
        data={"result": "mediated_agreement_full", "remedies": chosen, "sought": chosen},
    )
    assert answer.status_code in {200, 302}
    if any(c.strip() for c in chosen):
        page = answer.text if answer.status_code == 200 else mediator.get(answer.location).text
        assert "Choose from the options shown" in page
        assert db.session.execute(select(Outcome)).first() is None
