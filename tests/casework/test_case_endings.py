"""What a case's end, or a change of course, does to the public body's clock, the
mediator's offer, the agreement to mediate and the outcome (found in review)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mediation.domain import clocks
from mediation.extensions import db
from mediation.models.casework import (
    AgreementToMediate,
    CaseClock,
    MediatorOffer,
    Notification,
)
from mediation.services import outcomes, respondents, routing
from mediation.services.errors import InvalidInput
from tests.casework.conftest import Driver


def reply_clocks(case_id: int) -> list[CaseClock]:
    return list(
        db.session.execute(
            select(CaseClock).where(
                CaseClock.case_id == case_id, CaseClock.kind == clocks.RESPONDENT_REPLY
            )
        ).scalars()
    )


def running(rows: list[CaseClock]) -> list[CaseClock]:
    return [r for r in rows if r.met_on is None and r.stopped_on is None]


def test_the_bodys_reply_clock_starts_only_once_it_can_answer(driver: Driver) -> None:
    filed = driver.to("triage")
    driver.approve_statement(filed)  # in triage: the body cannot answer yet
    assert reply_clocks(filed.case.id) == []
    driver.officer_act(filed.case, "start_informal", reason="Try a call first")
    assert len(running(reply_clocks(filed.case.id))) == 1


def test_a_declined_complaint_leaves_the_body_no_clock_to_miss(driver: Driver) -> None:
    filed = driver.to("triage")
    driver.approve_statement(filed)
    driver.officer_act(
        filed.case, "decline", decline_reason="out_of_scope", reason="Not a Compact matter"
    )
    assert running(reply_clocks(filed.case.id)) == []
    db.session.refresh(filed.case)
    assert filed.case.next_deadline_kind != clocks.RESPONDENT_REPLY


def test_a_statement_is_not_approved_once_the_complaint_is_withdrawn(driver: Driver) -> None:
    filed = driver.to("triage")
    driver.send_statement(filed)
    driver.complainant_act(filed.case, "withdraw")
    with pytest.raises(InvalidInput, match="no longer open"):
        driver.complainant_approves(filed)
    db.session.rollback()
    assert reply_clocks(filed.case.id) == []
    told = db.session.execute(
        select(Notification).where(
            Notification.case_id == filed.case.id, Notification.topic == "respondent_case"
        )
    ).first()
    assert told is None


@pytest.mark.parametrize("ending", ["withdrawn", "respondent_declined"])
def test_an_offer_ends_with_the_case_and_no_longer_counts_as_the_mediators(
    driver: Driver, ending: str
) -> None:
    filed = driver.to("mediator_appointed_unanswered")
    mediator = driver.s.mediator
    assert routing.loads(db.session).get(mediator.id) == 1
    if ending == "withdrawn":
        driver.complainant_act(filed.case, "withdraw")
    else:
        respondents.answer_mediation(
            db.session, driver.s.respondent, filed.reference, agree=False, reason="Not now"
        )
        db.session.commit()
    offer = db.session.execute(
        select(MediatorOffer).where(MediatorOffer.case_id == filed.case.id)
    ).scalar_one()
    assert offer.status == "cancelled" and offer.pending_case_key is None
    assert routing.loads(db.session).get(mediator.id, 0) == 0
    assert not any(g.holder_user_id == mediator.id for g in filed.case.grants)


def test_the_parties_sign_again_for_a_new_mediator(driver: Driver) -> None:
    filed = driver.to("in_mediation")
    routing.withdraw(db.session, driver.s.mediator, filed.case, "A conflict found later")
    db.session.commit()
    terms = db.session.execute(
        select(AgreementToMediate).where(AgreementToMediate.case_id == filed.case.id)
    ).scalar_one()
    assert terms.complainant_signed_on is None and terms.respondent_signed_on is None
    assert terms.respondent_answer == "agreed"  # the body's yes to mediation stands


def test_an_outcome_must_fit_how_the_case_ended(driver: Driver) -> None:
    withdrawn = driver.to("withdrawn")
    with pytest.raises(InvalidInput, match="withdrew"):
        driver.outcome(withdrawn.case, "mediated_agreement_full")
    db.session.rollback()
    driver.outcome(withdrawn.case, "withdrawn")
    informal = driver.to("informal_resolution")
    with pytest.raises(InvalidInput, match="reached an agreement"):
        driver.outcome(informal.case, "mediated_agreement_partial")
    db.session.rollback()
    agreed = driver.to("agreement")
    with pytest.raises(InvalidInput, match="each remedy once"):
        outcomes.record_outcome(
            db.session,
            driver.s.officer,
            agreed.case,
            result="mediated_agreement_full",
            remedies=[outcomes.RemedyInput("payment", 5), outcomes.RemedyInput("payment", 9000)],
            sought=["payment"],
        )
    db.session.rollback()
