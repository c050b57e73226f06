"""Identity disclosure through the browser: ask, decide, view once with a reason, re-seal."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.services import complaints, identity_access, keyring
from tests import seeded
from tests.conftest import TEST_PASSWORD, AuthActions, StaffFactory


def signed_in(app: Flask, login) -> FlaskClient:  # type: ignore[no-untyped-def]
    client = app.test_client()
    AuthActions(client).sign_in(login)
    return client


def test_mediator_asks_officer_approves_mediator_sees_identity(
    app: Flask, make_staff: StaffFactory
) -> None:
    officer = make_staff("case_officer")
    mediator = make_staff("mediator")
    with app.app_context():
        filed = seeded.file_seeded()
        officer_user = db.session.get(StaffUser, officer.id)
        mediator_user = db.session.get(StaffUser, mediator.id)
        assert officer_user and mediator_user
        key = keyring.unlock(db.session, officer_user, TEST_PASSWORD)
        assert key
        identity_access.assign_mediator(db.session, officer_user, key, filed.case, mediator_user)
        db.session.commit()
        reference = filed.reference

    as_mediator = signed_in(app, mediator)
    page = as_mediator.post(f"/identity/cases/{reference}", data={"reason": "Just curious here"})
    assert seeded.IDENTITY["organisation"] not in page.text
    assert "do not hold a key" in page.text
    short = as_mediator.post(f"/identity/cases/{reference}/request", data={"reason": "why"})
    assert "10 to 2,000 characters" in short.text
    sent = as_mediator.post(
        f"/identity/cases/{reference}/request",
        data={"reason": "Need to agree a date for a joint session"},
    )
    assert sent.status_code == 302

    as_officer = signed_in(app, officer)
    listing = as_officer.get("/identity/requests")
    assert reference in listing.text
    with app.app_context():
        from sqlalchemy import select

        from mediation.models.cases import IdentityRequest

        request_id = db.session.execute(select(IdentityRequest.id)).scalar_one()
    decided = as_officer.post(
        f"/identity/requests/{request_id}",
        data={"decision": "approve", "reason": "Agreed, needed for the joint session"},
    )
    assert decided.status_code == 302

    shown = as_mediator.post(
        f"/identity/cases/{reference}", data={"reason": "Arranging the joint session now"}
    )
    assert seeded.IDENTITY["organisation"] in shown.text
    assert shown.headers["Cache-Control"] == "no-store"
    # Only shown in the response to the POST with a reason: a plain GET shows nothing.
    assert (
        seeded.IDENTITY["organisation"] not in as_mediator.get(f"/identity/cases/{reference}").text
    )
    with app.app_context():
        case = complaints.find_case(db.session, reference)
        assert case is not None
        log = identity_access.disclosure_log(db.session, case)
        assert log[-1].what == "saw who complained"


def test_an_unassigned_mediator_is_refused_the_identity_page_as_if_there_were_no_case(
    app: Flask, make_staff: StaffFactory
) -> None:
    """Refused (it was a 403 before G11's "a case a role may not see answers exactly as
    one that does not exist"): now the same 404 as a reference that does not exist."""
    make_staff("case_officer")
    mediator = make_staff("mediator")
    with app.app_context():
        filed = seeded.file_seeded()
        db.session.commit()
    client = signed_in(app, mediator)
    for page in ("/identity/cases/{}", "/identity/cases/{}/request"):
        refused = client.get(page.format(filed.reference))
        missing = client.get(page.format(complaints.new_reference()))
        assert refused.status_code == missing.status_code == 404
        assert refused.data == missing.data


def test_custody_page_gives_a_new_case_officer_the_keys(
    app: Flask, make_staff: StaffFactory
) -> None:
    officer = make_staff("case_officer")
    with app.app_context():
        filed = seeded.file_seeded("anonymous")
        db.session.commit()
        case_id = filed.case.id
    newcomer = make_staff("case_officer")
    client = signed_in(app, officer)
    page = client.get("/identity/custody")
    assert "Test case officer" in page.text and "Give keys" in page.text
    client.post(f"/identity/custody/{newcomer.id}")
    assert "Everyone holds the keys they need" in client.get("/identity/custody").text
    with app.app_context():
        user = db.session.get(StaffUser, newcomer.id)
        case = db.session.get(Case, case_id)
        assert user and case
        key = keyring.unlock(db.session, user, TEST_PASSWORD)
        assert key
        opened = complaints.staff_case_key(db.session, user, key, case)
        assert complaints.read_narrative(case, opened) == seeded.NARRATIVE


def test_the_cookie_alone_or_the_database_alone_opens_nothing(
    app: Flask, make_staff: StaffFactory
) -> None:
    from sqlalchemy import delete, select

    from mediation.models.vault import KeyCustody
    from mediation.vault import CustodyInvalid, decode_cookie_key, open_custody

    officer = make_staff("case_officer")
    client = signed_in(app, officer)
    with client.session_transaction() as session:
        ticket = dict(session["custody"])
    with app.app_context():
        row = db.session.execute(select(KeyCustody)).scalar_one()
        # The database row with any other key opens nothing.
        import secrets

        try:
            open_custody(row.blob, secrets.token_bytes(32))
            raise AssertionError("a wrong cookie key opened the custody blob")
        except CustodyInvalid:
            pass
        # With the cookie's key it opens: both halves together.
        assert open_custody(row.blob, decode_cookie_key(ticket["key"])).key_id == row.key_id
        db.session.execute(delete(KeyCustody))
        db.session.commit()
    # The cookie alone (its row gone): a clear sign-in-again, never a 500.
    response = client.get("/identity/custody")
    assert response.status_code == 200  # the page needs no key
    newcomer = make_staff("case_officer")
    response = client.post(f"/identity/custody/{newcomer.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sign-in")
