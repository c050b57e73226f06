"""Everything a case officer does in the browser is scriptable: `flask cases ...`."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.casework import CaseClock, MediatorOffer
from tests import seeded
from tests.casework.conftest import Driver, Staffed
from tests.conftest import TEST_PASSWORD


def cases(
    app: Flask, staffed: Staffed, *args: str, password: str = TEST_PASSWORD
) -> tuple[int, str]:
    runner = app.test_cli_runner()
    command = [args[0], "--officer", staffed.officer.email, *args[1:]]
    result = runner.invoke(args=["cases", *command], input=password + "\n")
    db.session.expire_all()
    return result.exit_code, result.output


def test_a_case_is_walked_from_triage_to_an_offer_from_the_command_line(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("triage")
    ref = filed.reference
    code, out = cases(app, staffed, "queue", "--view", "all")
    assert code == 0 and ref in out and "triage" in out
    code, out = cases(
        app,
        staffed,
        "triage",
        ref,
        "--category",
        "funding_change",
        "--body-id",
        str(staffed.body_id),
    )
    assert code == 0, out
    code, out = cases(app, staffed, "act", ref, "offer_mediation")
    assert code == 0 and "now mediation offered" in out, out
    code, out = cases(app, staffed, "route", ref)
    assert code == 0 and "Mediator Able" in out and "specialises in funding change" in out
    code, out = cases(
        app,
        staffed,
        "act",
        ref,
        "appoint_mediator",
        "--mediator-id",
        str(staffed.mediator.id),
        "--summary",
        "A grant cut; North West",
    )
    assert code == 0, out
    assert db.session.execute(select(MediatorOffer)).scalar_one().status == "offered"
    code, out = cases(app, staffed, "show", ref)
    assert code == 0 and "Mediator appointed" in out
    for output in (out,):
        for secret in seeded.SEEDED_STRINGS:
            assert secret not in output


def test_a_refused_action_explains_itself_and_changes_nothing(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("acknowledged")
    code, out = cases(app, staffed, "act", filed.reference, "check_implementation")
    assert code == 1
    assert "cannot check the agreement is kept while the case is acknowledged" in out
    db.session.refresh(filed.case)
    assert filed.case.state == "acknowledged"
    code, out = cases(app, staffed, "queue", password="wrong password entirely")
    assert code == 1 and "correct email address and password" in out


def test_overdue_cases_are_reported_for_monitoring(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("triage")
    clock = db.session.execute(
        select(CaseClock).where(CaseClock.case_id == filed.case.id, CaseClock.kind == "triage")
    ).scalar_one()
    clock.due_on = date.today() - timedelta(days=1)
    db.session.commit()
    code, out = cases(app, staffed, "overdue", "--fail-if-any")
    assert code == 2
    assert filed.reference in out and "triage due" in out


def test_the_outcome_is_recorded_and_the_case_closed_from_the_command_line(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("implementation_check")
    ref = filed.reference
    code, out = cases(app, staffed, "act", ref, "close")
    assert code == 1 and "Record the outcome" in out
    code, out = cases(
        app,
        staffed,
        "outcome",
        ref,
        "--result",
        "mediated_agreement_full",
        "--remedy",
        "payment:2400",
        "--sought",
        "payment",
    )
    assert code == 0, out
    code, out = cases(app, staffed, "act", ref, "close", "--reason", "Agreement kept")
    assert code == 0 and "now closed" in out
    code, out = cases(
        app, staffed, "invite", ref, "--email", "jo@marsh.example.gov.uk", "--name", "Jo Grants"
    )
    assert code == 0 and "/set-up/" in out
