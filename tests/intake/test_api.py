"""The JSON intake API: 201 with reference and passphrase, 422 with every field path."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from mediation.extensions import db
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case, CaseDocument
from mediation.models.casework import Notification
from mediation.services import case_clocks, complaints
from tests import seeded
from tests.conftest import StaffLogin

EXAMPLE: dict[str, Any] = {
    "openness": "confidential",
    "respondent_body": {"name": "Marsh County Council", "type": "local_authority"},
    "breaches": [{"category": "funding_change", "reference": "2010 Compact, outcome 4"}],
    "what_happened": seeded.NARRATIVE,
    "outcome_sought": "Reinstate the grant",
    "identity": {
        "organisation": seeded.IDENTITY["organisation"],
        "contact_name": seeded.IDENTITY["contact_name"],
        "email": seeded.IDENTITY["email"],
        "region": "north_west",
        "size_band": "micro",
    },
}


def post(client: FlaskClient, body: Any):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/complaints", json=body)


@pytest.mark.parametrize("openness", ["anonymous", "confidential", "open"])
def test_each_openness_is_filed_and_answered_with_reference_and_passphrase(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int, openness: str
) -> None:
    body = copy.deepcopy(EXAMPLE)
    body["openness"] = openness
    if openness == "anonymous":
        del body["identity"]
    response = post(client, body)
    assert response.status_code == 201, response.json
    data = response.json
    assert data["reference"].startswith("CM-") and len(data["passphrase"].split()) == 7
    assert data["status"] == "submitted"
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        case = db.session.execute(select(Case)).scalar_one()
        assert case.openness == openness
        assert case.respondent_body_id == body_id  # the named body matched our list
        _, mine = complaints.complainant_keypair(db.session, data["reference"], data["passphrase"])
        narrative = json.loads(
            complaints.read_narrative(case, complaints.complainant_case_key(case, mine))
        )
        assert narrative["what_happened"] == seeded.NARRATIVE
        assert narrative["breaches"][0]["reference"] == "2010 Compact, outcome 4"


def test_a_new_complaint_starts_its_clocks_and_tells_the_case_officers_without_content(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    response = post(client, EXAMPLE)
    assert response.status_code == 201
    with app.app_context():
        case = db.session.execute(select(Case)).scalar_one()
        kinds = {row.kind for row in case_clocks.clock_rows(db.session, case)}
        assert kinds == {"acknowledge", "feedback"}
        queued = db.session.execute(select(Notification)).scalars().all()
        assert [(n.recipient_user_id, n.topic) for n in queued] == [(officer.id, "new_case")]
        assert queued[0].link_path == f"/casework/cases/{case.reference}"


def test_invalid_input_gets_422_with_an_error_for_each_field_path(
    client: FlaskClient, officer: StaffLogin
) -> None:
    body = copy.deepcopy(EXAMPLE)
    body["breaches"] = [{"category": "shouting"}, {"paragraph": "1998/no/such"}]
    body["identity"]["email"] = "not-an-email"
    body["identity"]["region"] = "atlantis"
    del body["what_happened"]
    body["respondent_body"] = {"name": "Marsh County Council", "type": "castle"}
    body["colour"] = "blue"
    response = post(client, body)
    assert response.status_code == 422
    errors = response.json["errors"]
    assert set(errors) == {
        "breaches[0].category",
        "breaches[1].category",
        "breaches[1].paragraph",
        "identity.email",
        "identity.region",
        "what_happened",
        "respondent_body.type",
        "colour",
    }
    assert seeded.IDENTITY["organisation"] not in response.text  # no value is echoed back


def test_an_anonymous_complaint_may_not_carry_an_identity(
    client: FlaskClient, officer: StaffLogin
) -> None:
    body = dict(EXAMPLE, openness="anonymous")
    response = post(client, body)
    assert response.status_code == 422
    assert "identity" in response.json["errors"]


def test_a_confidential_complaint_needs_an_identity_and_a_way_to_reach_it(
    client: FlaskClient, officer: StaffLogin
) -> None:
    body = copy.deepcopy(EXAMPLE)
    del body["identity"]["email"]
    response = post(client, body)
    assert response.status_code == 422
    assert "identity.email" in response.json["errors"]
    del body["identity"]
    assert "identity" in post(client, body).json["errors"]


def test_a_body_not_on_the_list_needs_a_type_and_is_kept_unconfirmed(
    app: Flask, client: FlaskClient, officer: StaffLogin
) -> None:
    body = dict(EXAMPLE, respondent_body={"name": "Fenwick Parish Council"})
    assert "respondent_body.type" in post(client, body).json["errors"]
    body["respondent_body"] = {"name": "Fenwick Parish Council", "type": "local_authority"}
    assert post(client, body).status_code == 201
    with app.app_context():
        new = db.session.execute(
            select(RespondentBody).where(RespondentBody.name == "Fenwick Parish Council")
        ).scalar_one()
        assert new.confirmed is False


def test_documents_can_be_sent_base64_and_are_sealed(
    app: Flask, client: FlaskClient, officer: StaffLogin
) -> None:
    body = dict(
        EXAMPLE,
        documents=[
            {"name": "letter.pdf", "content_base64": base64.b64encode(b"%PDF-1.4 hi").decode()}
        ],
    )
    assert post(client, body).status_code == 201
    bad = dict(EXAMPLE, documents=[{"name": "x.exe", "content_base64": "AAAA"}])
    assert "documents[0].name" in post(client, bad).json["errors"]
    with app.app_context():
        assert db.session.execute(select(func.count(CaseDocument.id))).scalar_one() == 1


def test_not_json_is_refused_with_a_problem_document(client: FlaskClient) -> None:
    response = client.post("/api/v1/complaints", data="openness=open")
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"
    assert post(client, [1, 2]).status_code == 422


def test_the_api_needs_no_csrf_token_and_is_rate_limited(throttled_app: Flask) -> None:
    throttled_app.config["WTF_CSRF_ENABLED"] = True
    throttled_app.config["API_RATE_LIMIT"] = "3 per hour"
    client = throttled_app.test_client()
    statuses = [post(client, {"openness": "anonymous"}).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_the_openapi_document_describes_the_intake(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.1")
    operation = document["paths"]["/complaints"]["post"]
    assert {"201", "422"} <= set(operation["responses"])
    complaint = document["components"]["schemas"]["Complaint"]
    assert {"openness", "respondent_body", "breaches", "identity"} <= set(complaint["properties"])
    category = document["components"]["schemas"]["Breach"]["properties"]["category"]
    categories = category["anyOf"][0]["enum"]
    assert "funding_change" in categories and "victimisation" in categories
    assert document["servers"][0]["url"].endswith("/api/v1")
