"""The case page reads each kind of record in one statement: a case with many messages,
notes and documents costs the officer's and the mediator's page no more statements than a
case with none (no statement a row)."""

from __future__ import annotations

from flask import Flask

from mediation.extensions import db
from mediation.services import complaints, mediation_work
from mediation.services.audit import Actor
from mediation.services.intake import attach_document
from mediation.services.intake_documents import Upload
from tests.casework.conftest import Browser, Driver, Staffed, staff_browser
from tests.conftest import counted


def statements_for(app: Flask, browser: Browser, path: str) -> int:
    browser.get(path)  # once first: what a first request sets up is not the page's
    with counted(app) as statements:
        response = browser.get(path)
    assert response.status_code == 200
    return len(statements)


def test_the_case_page_costs_the_same_statements_however_many_records_a_case_has(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    quiet = driver.to("in_mediation")
    busy = driver.to("in_mediation")
    for n in range(4):
        complaints.add_message(db.session, busy.case, Actor.complainant(), f"Message {n}")
        mediation_work.add_note(db.session, staffed.officer, busy.case, f"Note {n}")
        mediation_work.add_note(db.session, staffed.mediator, busy.case, f"Mediator's note {n}")
        attach_document(
            db.session, busy.case, Upload(f"letter-{n}.txt", b"A letter"), uploaded_by="complainant"
        )
    db.session.commit()

    for role, prefix in (("officer", "/casework"), ("mediator", "/mediator")):
        browser = staff_browser(app, staffed.logins[role])
        few = statements_for(app, browser, f"{prefix}/cases/{quiet.reference}")
        many = statements_for(app, browser, f"{prefix}/cases/{busy.reference}")
        assert many == few, role
