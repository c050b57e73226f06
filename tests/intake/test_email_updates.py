"""A complainant asks, on the form or through the API, to be emailed when there is an
update; the request is sealed with the identity and only an address makes it possible."""

from __future__ import annotations

import copy

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.services import keyring, notifications
from tests import seeded
from tests.conftest import TEST_PASSWORD, StaffLogin
from tests.intake.conftest import fill_in, page_answers, submit
from tests.intake.test_api import EXAMPLE, post


def _address_for_updates(app: Flask, officer: StaffLogin, reference: str) -> str | None:
    """What the notification service would email: opened in a case officer's session."""
    with app.app_context():
        staff = db.session.get(StaffUser, officer.id)
        assert staff is not None
        key = keyring.unlock(db.session, staff, TEST_PASSWORD)
        assert key is not None
        case = db.session.execute(select(Case).where(Case.reference == reference)).scalar_one()
        return notifications.complainant_address(case, key)


def test_ticking_updates_on_the_form_lets_the_service_email_the_complainant(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    pages = page_answers("confidential", body_id)
    pages[-1][1]["email_updates"] = "y"
    fill_in(client, pages)
    check = client.get("/my-complaint/new/check").text
    assert "Updates by email" in check
    receipt = submit(client)
    assert _address_for_updates(app, officer, receipt.reference) == seeded.IDENTITY["email"]


def test_without_ticking_updates_nobody_is_emailed(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    fill_in(client, page_answers("confidential", body_id))
    receipt = submit(client)
    assert _address_for_updates(app, officer, receipt.reference) is None


def test_updates_without_an_email_address_are_refused_on_the_page_keeping_the_rest(
    client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    pages = page_answers("confidential", body_id)
    fill_in(client, pages[:-1])
    about = dict(pages[-1][1], email="", email_updates="y")
    response = client.post("/my-complaint/new/about", data=about)
    assert response.status_code == 200
    assert "Give an email address for updates by email" in response.text
    assert seeded.IDENTITY["organisation"] in response.text


def test_the_api_takes_updates_with_an_address_and_refuses_them_without(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    body = copy.deepcopy(EXAMPLE)
    body["identity"]["email_updates"] = True
    filed = post(client, body)
    assert filed.status_code == 201, filed.json
    assert _address_for_updates(app, officer, filed.json["reference"]) == seeded.IDENTITY["email"]
    no_address = copy.deepcopy(body)
    del no_address["identity"]["email"]
    no_address["identity"]["phone"] = "0161 496 0000"
    refused = post(client, no_address)
    assert refused.status_code == 422
    assert "identity.email_updates" in refused.json["errors"]
    not_a_flag = copy.deepcopy(body)
    not_a_flag["identity"]["email_updates"] = "yes"
    assert "identity.email_updates" in post(client, not_a_flag).json["errors"]


def test_an_open_complaint_does_not_tell_the_public_body_how_it_keeps_in_touch(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    body = copy.deepcopy(EXAMPLE)
    body["openness"] = "open"
    body["identity"]["email_updates"] = True
    filed = post(client, body)
    assert filed.status_code == 201
    with app.app_context():
        case = db.session.execute(
            select(Case).where(Case.reference == filed.json["reference"])
        ).scalar_one()
        assert case.shared_identity is not None
        assert "email_updates" not in case.shared_identity
        assert case.shared_identity["organisation"] == seeded.IDENTITY["organisation"]
