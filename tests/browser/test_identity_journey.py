"""Identity disclosure in real browsers: the mediator asks, a case officer approves, and the
mediator sees who complained only then, each page passing every check."""

from __future__ import annotations

from flask import Flask

from mediation.extensions import db
from mediation.models.staff import StaffUser
from mediation.services import identity_access, keyring
from tests import seeded
from tests.browser.actions import sign_in
from tests.browser.harness import Journeys
from tests.conftest import TEST_PASSWORD, StaffFactory


def confidential_case_assigned_to(app: Flask, officer_id: int, mediator_id: int) -> str:
    with app.app_context():
        filed = seeded.file_seeded()
        officer = db.session.get(StaffUser, officer_id)
        mediator = db.session.get(StaffUser, mediator_id)
        assert officer and mediator
        key = keyring.unlock(db.session, officer, TEST_PASSWORD)
        assert key
        identity_access.assign_mediator(db.session, officer, key, filed.case, mediator)
        db.session.commit()
        return filed.reference


def test_mediator_asks_case_officer_approves_then_mediator_sees_who_complained(
    app: Flask, journeys: Journeys, make_staff: StaffFactory
) -> None:
    officer_login = make_staff("case_officer")
    mediator_login = make_staff("mediator")
    reference = confidential_case_assigned_to(app, officer_login.id, mediator_login.id)
    organisation = seeded.IDENTITY["organisation"]

    mediator = journeys("mediator")
    sign_in(mediator, mediator_login)
    mediator.open(f"/identity/cases/{reference}", "who complained, no access yet")
    mediator.fill("Why do you need to see who complained?", "To arrange a joint session")
    mediator.click("Show who complained", "refused: no key yet")
    assert mediator.page.get_by_role("alert").is_visible()
    assert organisation not in mediator.page.content()
    mediator.click("Ask a case officer for access", "ask for access", role="link")
    mediator.fill("Why do you need to see who complained?", "why")
    mediator.click("Send request", "too short a reason")
    assert mediator.page.get_by_text("Give a reason of 10 to 2,000 characters").first.is_visible()
    mediator.fill(
        "Why do you need to see who complained?", "We need to agree a date for a joint session"
    )
    mediator.click("Send request", "request sent")
    assert mediator.page.get_by_text("Your request has been sent").is_visible()

    officer = journeys("case officer")
    sign_in(officer, officer_login)
    officer.click("Identity requests", "requests waiting", role="link")
    officer.click(f"Decide on {reference}", "decide on the request", role="link")
    assert officer.page.get_by_text("We need to agree a date for a joint session").is_visible()
    officer.page.get_by_label("Approve", exact=True).check()
    officer.fill("Reason for your decision", "Agreed: needed for the joint session")
    officer.click("Record decision", "decision recorded")
    assert officer.page.get_by_text("Your decision is recorded.").is_visible()
    assert officer.page.get_by_text("There are no requests waiting").is_visible()

    mediator.open(f"/identity/cases/{reference}", "who complained, approved")
    assert organisation not in mediator.page.content()  # never without a reason
    mediator.fill("Why do you need to see who complained?", "Arranging the joint session now")
    mediator.click("Show who complained", "who complained, shown")
    assert mediator.page.get_by_text(organisation).is_visible()
    # Shown once, for that request: reloading by address shows the form again, not the name.
    mediator.open(f"/identity/cases/{reference}", "who complained, after")
    assert organisation not in mediator.page.content()
