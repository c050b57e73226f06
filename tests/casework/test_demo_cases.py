"""The demo data holds a case in every workflow state, and each role's pages show them."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from mediation.domain.workflow import STATES
from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.panel import MediatorProfile
from mediation.models.staff import StaffUser
from mediation.services import case_clocks, demo, demo_cases
from mediation.services.demo import DEMO_ACCOUNTS
from tests.casework.conftest import Browser

TIME_OF_DAY = re.compile(r"\b([01]?\d|2[0-3]):[0-5]\d\b")


def demo_browser(app: Flask, role: str) -> Browser:
    account = next(a for a in DEMO_ACCOUNTS if a.role == role)
    browser = Browser(app)
    response = browser.post("/sign-in", data={"email": account.email, "password": account.password})
    assert response.status_code == 302
    return browser


def test_demo_cases_cover_every_state_and_every_role_sees_real_pages(app: Flask) -> None:
    app.config["DEMO_MODE"] = True
    with app.app_context():
        demo.load_demo(db.session)
        db.session.commit()
        summary = demo_cases.load(db.session)
        db.session.commit()
        assert "17 demo cases" in summary
        assert demo_cases.load(db.session) == "demo cases already loaded"
        cases = list(db.session.execute(select(Case)).scalars())
        # Every state but "draft", which is an intake draft sealed in the browser, not a case.
        assert {c.state for c in cases} == set(STATES) - {"draft"}
        references = {c.state: c.reference for c in cases}
        narratives = [d.narrative for d in demo_cases.CASES]

        officer = demo_browser(app, "case_officer")
        queue = officer.get("/casework/").text
        assert "Overdue" in queue and "Funding check due" in queue and "New" in queue
        for state, reference in references.items():
            page = officer.get(f"/casework/cases/{reference}")
            assert page.status_code == 200, state
        # Demo cases carry the intake form's answers, shown labelled as a real case's are.
        triage_page = officer.get(f"/casework/cases/{references['triage']}").text
        assert "What happened" in triage_page and "Outcome they want" in triage_page

        mediator = demo_browser(app, "mediator")
        mine = mediator.get("/mediator/").text
        assert references["in_mediation"] in mine
        assert mediator.get(f"/mediator/cases/{references['in_mediation']}").status_code == 200
        offer = mediator.get(f"/mediator/cases/{references['mediator_appointed']}")
        assert offer.status_code == 200 and "Summary from the case officer" in offer.text

        respondent = demo_browser(app, "respondent")
        listing = respondent.get("/respondent/").text
        shown = [r for r in references.values() if r in listing]
        assert references["in_mediation"] in shown and references["triage"] not in shown
        for reference in shown:
            page = respondent.get(f"/respondent/cases/{reference}").text
            assert not any(n in page for n in narratives)
            assert not TIME_OF_DAY.search(page)

        admin = demo_browser(app, "admin")
        assert "Grace Okafor" in admin.get("/admin/panel").text


def test_the_demo_panel_looks_the_same_whenever_the_demo_is_loaded(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Routing counts CPD done within the year and skips mediators on leave: the demo's
    dates move with the day it is loaded, so a year on it still has recent CPD, one
    mediator with lapsed CPD and one on leave that day."""
    later = date(2031, 2, 1)
    monkeypatch.setattr(case_clocks, "today", lambda: later)
    app.config["DEMO_MODE"] = True
    with app.app_context():
        demo.load_demo(db.session)
        assert demo_cases._cast(db.session) is not None  # joins the demo mediator to the panel
        db.session.commit()
        profiles = {
            email: profile
            for profile, email in db.session.execute(
                select(MediatorProfile, StaffUser.email).join(
                    StaffUser, StaffUser.id == MediatorProfile.user_id
                )
            ).all()
        }
        mediator_email = next(a.email for a in DEMO_ACCOUNTS if a.role == "mediator")
        assert later - timedelta(days=365) < profiles[mediator_email].cpd_last_date < later
        year_before = later - timedelta(days=365)
        lapsed = [
            e for e, p in profiles.items() if p.cpd_last_date and p.cpd_last_date < year_before
        ]
        on_leave = [
            e
            for e, p in profiles.items()
            for leave in p.leave
            if date.fromisoformat(leave["start"]) <= later <= date.fromisoformat(leave["end"])
        ]
        assert len(lapsed) == 1 and len(on_leave) == 1
