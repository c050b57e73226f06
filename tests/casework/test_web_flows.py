"""Casework through the browser: the queue, triage, a refused action, the mediator's
anonymised offer, the complainant approving a statement, and the admin's panel."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from sqlalchemy import func, select

from mediation.extensions import db
from mediation.models.cases import CaseEvent
from mediation.models.casework import CaseClock, DisclosureStatement, MediatorOffer
from mediation.models.panel import MediatorProfile
from tests import seeded
from tests.casework.conftest import (
    STATEMENT,
    Browser,
    Driver,
    Staffed,
    complainant_browser,
    staff_browser,
)
from tests.conftest import StaffLogin


def client_for(app: Flask, login: StaffLogin) -> Browser:
    return staff_browser(app, login)


def complainant_client(app: Flask, reference: str, passphrase: str) -> Browser:
    return complainant_browser(app, reference, passphrase)


def test_the_queue_shows_new_urgent_and_overdue_cases_and_filters_them(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    new = driver.file().case
    urgent = driver.to("acknowledged").case
    driver.complainant_act(urgent, "report_adverse_treatment", reason="They cut our grant")
    late = driver.to("triage").case
    clock = db.session.execute(
        select(CaseClock).where(CaseClock.case_id == late.id, CaseClock.kind == "triage")
    ).scalar_one()
    clock.due_on = date.today() - timedelta(days=3)
    db.session.commit()
    officer = client_for(app, staffed.logins["officer"])

    page = officer.get("/casework/").text
    for case in (new, urgent, late):
        assert case.reference in page
    assert page.index(urgent.reference) < page.index(late.reference) < page.index(new.reference)
    assert "Urgent" in page and "Overdue" in page and "New" in page

    assert [new.reference] == _references(
        officer.get("/casework/?view=new").text, new, urgent, late
    )
    assert [urgent.reference] == _references(
        officer.get("/casework/?view=urgent").text, new, urgent, late
    )
    assert [late.reference] == _references(
        officer.get("/casework/?view=overdue").text, new, urgent, late
    )
    assert [late.reference] == _references(
        officer.get("/casework/?state=triage").text, new, urgent, late
    )
    # Every case here is against a local authority in the North West.
    assert _references(officer.get("/casework/?region=london").text, new, urgent, late) == []
    by_type = officer.get("/casework/?body_type=local_authority").text
    assert len(_references(by_type, new, urgent, late)) == 3
    assert _references(officer.get("/casework/?category=equality").text, new, urgent, late) == []
    funding = officer.get("/casework/?category=funding_change").text
    assert _references(funding, new, urgent, late) == [late.reference]


def _references(page: str, *cases: object) -> list[str]:
    return [c.reference for c in cases if c.reference in page]  # type: ignore[attr-defined]


def test_an_officer_triages_and_decides_through_the_case_page(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("triage")
    reference = filed.reference
    officer = client_for(app, staffed.logins["officer"])
    page = officer.get(f"/casework/cases/{reference}").text
    assert seeded.NARRATIVE in page  # the case officer holds the key
    assert "Decide whether to accept the complaint" in page
    officer.post(
        f"/casework/cases/{reference}/triage",
        data={
            "categories": ["funding_change", "independence"],
            "respondent_body_id": staffed.body_id,
        },
    )
    response = officer.post(
        f"/casework/cases/{reference}/decision",
        data={"decision": "mediation", "expected_state": "triage"},
        follow_redirects=True,
    )
    assert "the case is now mediation offered" in response.text
    db.session.refresh(filed.case)
    assert filed.case.state == "mediation_offered"


def test_an_action_on_a_case_that_moved_on_is_refused_with_a_clear_message(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("acknowledged")
    officer = client_for(app, staffed.logins["officer"])
    second = client_for(app, staffed.logins["second_officer"])
    # Both officers loaded the page while the case was acknowledged; the first acts.
    first = officer.post(
        f"/casework/cases/{filed.reference}/action",
        data={"action": "start_triage", "expected_state": "acknowledged"},
    )
    assert first.status_code == 302
    events = _events(filed.case.id)
    late = second.post(
        f"/casework/cases/{filed.reference}/action",
        data={"action": "put_on_hold", "reason": "Court case", "expected_state": "acknowledged"},
        follow_redirects=True,
    )
    assert "Someone else changed this case while you were looking at it" in late.text
    assert "Nothing was changed" in late.text
    assert _events(filed.case.id) == events
    db.session.refresh(filed.case)
    assert filed.case.state == "triage"
    # And an action the state does not allow says so, changing nothing.
    refused = officer.post(
        f"/casework/cases/{filed.reference}/action",
        data={"action": "check_implementation", "expected_state": "triage"},
        follow_redirects=True,
    )
    assert "You cannot check the agreement is kept while the case is being assessed" in refused.text
    assert _events(filed.case.id) == events


def _events(case_id: int) -> int:
    return db.session.execute(select(func.count()).where(CaseEvent.case_id == case_id)).scalar_one()


def test_a_mediator_sees_the_summary_then_the_names_then_the_case_file(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("mediation_offered")
    officer = client_for(app, staffed.logins["officer"])
    routing_page = officer.get(f"/casework/cases/{filed.reference}/routing").text
    assert "Mediator Able" in routing_page and "specialises in funding change" in routing_page
    assert "Mediator Baker" in routing_page  # ranked lower, still offered as a choice
    officer.post(
        f"/casework/cases/{filed.reference}/routing",
        data={
            "mediator_id": staffed.mediator.id,
            "summary": "A grant cut at short notice; small group; North West.",
            "expected_state": "mediation_offered",
        },
    )
    assert db.session.query(MediatorOffer).one().status == "offered"

    mediator = client_for(app, staffed.logins["mediator"])
    assert (
        filed.reference in mediator.get("/mediator/").text
        or "Case offered" in mediator.get("/mediator/").text
    )
    offer = mediator.get(f"/mediator/cases/{filed.reference}").text
    assert "A grant cut at short notice" in offer
    assert "Marsh County Council" not in offer  # no names before accepting
    assert seeded.NARRATIVE not in offer
    mediator.post(f"/mediator/cases/{filed.reference}/offer", data={"answer": "accept"})
    names = mediator.get(f"/mediator/cases/{filed.reference}").text
    assert "Marsh County Council" in names
    assert seeded.NARRATIVE not in names  # still no case file until no conflict is declared
    assert seeded.IDENTITY["organisation"] not in names  # confidential: never the complainant
    mediator.post(f"/mediator/cases/{filed.reference}/declaration", data={"no_conflict": "y"})
    workspace = mediator.get(f"/mediator/cases/{filed.reference}").text
    assert seeded.NARRATIVE in workspace
    assert seeded.IDENTITY["organisation"] not in workspace

    other = client_for(app, staffed.logins["other_mediator"])
    assert other.get(f"/mediator/cases/{filed.reference}").status_code == 404


def test_a_mediator_with_no_offer_learns_nothing_of_a_case_by_answering_it(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    """Another mediator's case, unknown references and the offer's forms all give the same
    bare 404, before any service is asked: no refusal naming the case's state, and
    nothing moved."""
    filed = driver.to("mediator_appointed")
    other = client_for(app, staffed.logins["other_mediator"])
    unknown = other.post("/mediator/cases/CM-ZZZZ-ZZZZ/offer", data={"answer": "decline"})
    for path, data in (
        ("offer", {"answer": "decline", "reason": "not mine"}),
        ("offer", {"answer": "accept"}),
        ("declaration", {"reason": "a conflict"}),
        ("declaration", {"no_conflict": "y"}),
    ):
        answer = other.post(f"/mediator/cases/{filed.reference}/{path}", data=data)
        assert answer.status_code == 404
        assert answer.text == unknown.text
        assert "appointed" not in answer.text.lower()
    db.session.refresh(filed.case)
    assert filed.case.state == "mediator_appointed"
    offer = db.session.execute(select(MediatorOffer)).scalar_one()
    assert offer.mediator_id == staffed.mediator.id and offer.status == "offered"


def test_a_mediator_declaring_a_conflict_hands_the_case_back(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("mediator_appointed")
    mediator = client_for(app, staffed.logins["mediator"])
    mediator.post(f"/mediator/cases/{filed.reference}/offer", data={"answer": "accept"})
    mediator.post(
        f"/mediator/cases/{filed.reference}/declaration",
        data={"reason": "My sister works in its grants team"},
    )
    db.session.refresh(filed.case)
    assert filed.case.state == "mediation_offered"
    assert filed.case.mediator_id is None
    assert not any(g.holder_user_id == staffed.mediator.id for g in filed.case.grants)
    assert mediator.get(f"/mediator/cases/{filed.reference}").status_code == 404


def test_the_complainant_approves_the_statement_and_only_then_the_body_sees_it(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("mediation_offered")
    # driver.to approved one statement already; revise it through the officer's page.
    officer = client_for(app, staffed.logins["officer"])
    revised = "Revised: the council ended a grant with four weeks of notice."
    officer.post(f"/casework/cases/{filed.reference}/statement", data={"text": revised})
    officer.post(f"/casework/cases/{filed.reference}/statement/send")
    respondent = client_for(app, staffed.logins["respondent"])
    before = respondent.get(f"/respondent/cases/{filed.reference}").text
    assert STATEMENT in before and revised not in before

    complainant = complainant_client(app, filed.reference, filed.passphrase)
    page = complainant.get("/my-complaint/statement").text
    assert revised in page
    row = db.session.execute(
        select(DisclosureStatement).where(DisclosureStatement.status == "awaiting_approval")
    ).scalar_one()
    tampered = complainant.post(
        "/my-complaint/statement",
        data={"statement_id": row.id, "shown_digest": "0" * 64, "answer": "approve"},
    )
    assert "changed while you were reading it" in tampered.text
    from mediation.services.disclosure_statements import digest

    approved = complainant.post(
        "/my-complaint/statement",
        data={"statement_id": row.id, "shown_digest": digest(revised), "answer": "approve"},
    )
    assert approved.status_code == 302
    after = respondent.get(f"/respondent/cases/{filed.reference}").text
    assert revised in after and STATEMENT not in after


def test_the_admin_keeps_the_panel_and_routing_follows_it(
    app: Flask, driver: Driver, staffed: Staffed, make_staff: object
) -> None:
    admin_login = make_staff("admin")  # type: ignore[operator]
    admin = client_for(app, admin_login)
    listing = admin.get("/admin/panel").text
    assert "Mediator Able" in listing and "Mediator Baker" in listing
    response = admin.post(
        f"/admin/panel/{staffed.mediator.id}",
        data={
            "specialisms": ["funding_change"],
            "regions": ["north_west"],
            "languages": "en, cy",
            "capacity": "2",
            "accreditation_body": "Institute of Community Mediators",
            "accredited_on": "2019-05-01",
            "cpd_last_date": "2026-09-01",
            "cpd_hours": "9",
            "leave": "2031-01-05 to 2031-01-16",
            "interests": "body: Marsh County Council | Former councillor",
        },
    )
    assert response.status_code == 302, response.text
    profile = db.session.execute(
        select(MediatorProfile).where(MediatorProfile.user_id == staffed.mediator.id)
    ).scalar_one()
    db.session.refresh(profile)
    assert profile.languages == ["cy", "en"]
    assert profile.interests[0]["body_id"] == staffed.body_id
    bad = admin.post(
        f"/admin/panel/{staffed.mediator.id}",
        data={"capacity": "2", "cpd_hours": "1", "leave": "next Tuesday"},
    )
    assert "Leave line 1" in bad.text
    future = admin.post(
        f"/admin/panel/{staffed.mediator.id}",
        data={"capacity": "2", "cpd_hours": "6", "cpd_last_date": "2099-01-01"},
    )
    assert "The last CPD date cannot be in the future." in future.text
    assert 'value="2099-01-01"' in future.text  # kept, to be corrected
    filed = driver.to("mediation_offered")
    officer = client_for(app, staffed.logins["officer"])
    page = officer.get(f"/casework/cases/{filed.reference}/routing").text
    assert "declared an interest in the public body" in page


def test_each_party_answers_the_survey_once_after_closure(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("closed")
    answers = {"satisfaction": "4", "fairness": "5", "relationship": "3", "would_use_again": "yes"}
    complainant = complainant_client(app, filed.reference, filed.passphrase)
    assert "How did we do?" in complainant.get("/my-complaint/survey").text
    assert complainant.post("/my-complaint/survey", data=answers).status_code == 302
    again = complainant.post("/my-complaint/survey", data=answers)
    assert "already been answered" in again.text
    respondent = client_for(app, staffed.logins["respondent"])
    respondent.post(f"/respondent/cases/{filed.reference}/survey", data=answers)
    officer = client_for(app, staffed.logins["officer"])
    page = officer.get(f"/casework/cases/{filed.reference}").text
    assert page.count("4 out of 5") == 2
    open_case = driver.to("in_mediation")
    early = respondent.post(
        f"/respondent/cases/{open_case.reference}/survey", data=answers, follow_redirects=True
    )
    assert "The survey opens when the case is closed" in early.text


def test_a_document_from_the_public_body_is_sealed_and_opened_only_by_staff(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    import io

    from mediation.models.cases import CaseDocument

    filed = driver.to("in_mediation")
    respondent = client_for(app, staffed.logins["respondent"])
    sent = respondent.post(
        f"/respondent/cases/{filed.reference}/documents",
        data={"document": (io.BytesIO(b"Grant letter of 3 March"), "grant letter.txt")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    row = db.session.execute(select(CaseDocument)).scalar_one()
    assert row.content is not None and b"Grant letter" not in row.content
    assert "Sent on" in respondent.get(f"/respondent/cases/{filed.reference}").text
    officer = client_for(app, staffed.logins["officer"])
    assert "grant letter.txt" in officer.get(f"/casework/cases/{filed.reference}").text
    opened = officer.post(f"/casework/cases/{filed.reference}/documents/{row.id}")
    assert opened.data == b"Grant letter of 3 March"
    assert "attachment" in opened.headers["Content-Disposition"]
    mediator = client_for(app, staffed.logins["mediator"])
    assert mediator.post(f"/mediator/cases/{filed.reference}/documents/{row.id}").data == (
        b"Grant letter of 3 March"
    )
    other = client_for(app, staffed.logins["other_mediator"])
    refused = other.post(f"/mediator/cases/{filed.reference}/documents/{row.id}")
    assert refused.status_code in {302, 404} and b"Grant letter" not in refused.data


def test_a_mediators_list_shows_open_cases_then_closed_ones_and_no_one_elses(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    working = driver.to("in_mediation")
    withdrawn = driver.to("in_mediation")
    driver.complainant_act(withdrawn.case, "withdraw")
    closed = driver.to("closed")
    destroyed = driver.to("closed")
    others = driver.file().case
    for filed in (working, withdrawn, closed, destroyed):
        assert filed.case.mediator_id == staffed.mediator.id
    destroyed.case.keys_destroyed_on = date.today()
    db.session.commit()

    page = client_for(app, staffed.logins["mediator"]).get("/mediator/").text

    open_part, _, closed_part = page.partition(">Closed cases</h2>")
    assert working.reference in open_part and closed.reference not in open_part
    # Withdrawn, not yet closed: its mediator may still record the outcome.
    assert withdrawn.reference in open_part and withdrawn.reference not in closed_part
    assert closed.reference in closed_part
    assert destroyed.reference not in page and others.reference not in page


def test_the_portal_asks_for_the_complainants_answer_only_when_a_statement_awaits_it(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("triage")
    ask = "Read and approve what the public body will be told"
    told = "Read what the public body has been told"

    def portal() -> str:
        page = complainant_client(app, filed.reference, filed.passphrase).get("/my-complaint/")
        assert page.status_code == 200
        return str(page.text)

    nothing_yet = portal()
    assert ask not in nothing_yet and told not in nothing_yet

    driver.send_statement(filed)
    awaiting = portal()
    assert ask in awaiting and "We need your answer" in awaiting and told not in awaiting

    driver.complainant_approves(filed)
    approved = portal()
    assert told in approved and ask not in approved
