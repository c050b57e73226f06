"""The JSON intake API: 201 with reference and passphrase, 422 with every field path, and an
Idempotency-Key that makes a retry safe without ever showing the passphrase twice."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from mediation.domain.coarse_time import day_end
from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case, CaseDocument
from mediation.models.casework import Notification
from mediation.models.intake import ApiIdempotencyKey
from mediation.models.time import utcnow
from mediation.services import case_clocks, complaints
from tests import seeded
from tests.conftest import StaffLogin
from tests.document_files import pdf_with_author

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


def test_a_body_not_on_the_list_needs_a_type_and_is_kept_only_sealed(
    app: Flask, client: FlaskClient, officer: StaffLogin
) -> None:
    body = dict(EXAMPLE, respondent_body={"name": "Fenwick Parish Council"})
    assert "respondent_body.type" in post(client, body).json["errors"]
    body["respondent_body"] = {"name": "Fenwick Parish Council", "type": "local_authority"}
    assert post(client, body).status_code == 201
    with app.app_context():
        names = db.session.execute(select(RespondentBody.name)).scalars().all()
        assert not any("Fenwick" in name for name in names)
        case = db.session.execute(select(Case)).scalar_one()
        held = db.session.get(RespondentBody, case.respondent_body_id)
        assert held is not None and held.confirmed is False
        assert held.body_type == "local_authority" and held.name.startswith("Unlisted")


def test_documents_can_be_sent_base64_and_are_sealed(
    app: Flask, client: FlaskClient, officer: StaffLogin
) -> None:
    body = dict(
        EXAMPLE,
        documents=[
            # A real PDF: a complainant's PDF is cleaned before it is sealed.
            {"name": "letter.pdf", "content_base64": base64.b64encode(pdf_with_author()).decode()}
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
    throttled_app.config["API_REQUEST_LIMIT"] = "3 per hour"
    client = throttled_app.test_client()
    statuses = [post(client, {"openness": "anonymous"}).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_only_filed_complaints_count_against_the_filing_limit_and_a_429_says_when(
    throttled_app: Flask,
) -> None:
    """A client fixing its mistakes, or retrying after a lost answer, is not shut out by
    them; past the limit the refusal is problem+json with the Retry-After the OpenAPI
    document promises."""
    from tests.conftest import StaffFactory

    StaffFactory(throttled_app)("case_officer")
    throttled_app.config["API_RATE_LIMIT"] = "1 per hour"
    client = throttled_app.test_client()
    body = dict(copy.deepcopy(EXAMPLE), openness="anonymous")
    del body["identity"]
    assert [post(client, {"openness": "anonymous"}).status_code for _ in range(3)] == [422] * 3
    assert post(client, body).status_code == 201
    refused = post(client, body)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.json["status"] == 429 and "Nothing was filed" in refused.json["title"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600


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


def test_documents_may_be_null_as_the_openapi_document_says(
    client: FlaskClient, officer: StaffLogin
) -> None:
    response = post(client, dict(EXAMPLE, documents=None))
    assert response.status_code == 201, response.json
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Complaint"]
    assert "null" in schema["properties"]["documents"]["type"]
    refused = post(client, dict(EXAMPLE, documents="letter.pdf"))
    assert refused.json["errors"] == {"documents": "Must be a list of documents."}


# --- Idempotency-Key -------------------------------------------------------------------

KEY = "5f0c2a9e-8d7b-4c61-9a3e-2b1f7d4e6c80"


def post_with_key(client: FlaskClient, body: Any, key: str = KEY):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/complaints", json=body, headers={"Idempotency-Key": key})


def case_count(app: Flask) -> int:
    with app.app_context():
        count = db.session.execute(select(func.count(Case.id))).scalar_one()
        db.session.remove()
        return int(count)


def test_a_retry_with_the_same_key_files_one_case_and_never_shows_the_passphrase_again(
    app: Flask, client: FlaskClient, officer: StaffLogin
) -> None:
    first = post_with_key(client, EXAMPLE)
    assert first.status_code == 201
    passphrase = first.json["passphrase"]
    # The same complaint with its fields in another order is the same request.
    reordered = dict(reversed(list(copy.deepcopy(EXAMPLE).items())))
    again = post_with_key(client, reordered)
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert again.json["reference"] == first.json["reference"]
    assert "passphrase" not in again.json and passphrase not in again.text
    assert "not shown again" in again.json["detail"]
    assert again.json["title"].startswith("This complaint was filed already")
    assert seeded.NARRATIVE not in again.text and seeded.IDENTITY["email"] not in again.text
    assert case_count(app) == 1
    with app.app_context():
        intake_entries = db.session.execute(
            select(func.count(AuditEntry.seq)).where(AuditEntry.action == "case.intake_received")
        ).scalar_one()
        assert intake_entries == 1


def test_the_same_key_with_a_different_complaint_is_refused_and_says_nothing_of_the_first(
    app: Flask, client: FlaskClient, officer: StaffLogin
) -> None:
    first = post_with_key(client, EXAMPLE)
    assert first.status_code == 201
    other = dict(EXAMPLE, outcome_sought="An apology")
    refused = post_with_key(client, other)
    assert refused.status_code == 422
    assert "already used" in refused.json["errors"]["Idempotency-Key"]
    assert first.json["reference"] not in refused.text
    assert case_count(app) == 1
    # A new key files the different complaint.
    assert (
        post_with_key(client, other, key="b6c0d7e4-2f1a-4e8b-9c3d-7a5e1f0b2c9d").status_code == 201
    )
    assert case_count(app) == 2


def test_a_refused_complaint_keeps_no_key_so_it_can_be_put_right_and_sent_again(
    app: Flask, client: FlaskClient, officer: StaffLogin
) -> None:
    broken = dict(EXAMPLE, openness="secret")
    assert post_with_key(client, broken).status_code == 422
    assert post_with_key(client, EXAMPLE).status_code == 201
    with app.app_context():
        assert db.session.execute(select(func.count(ApiIdempotencyKey.key_hash))).scalar_one() == 1


@pytest.mark.parametrize(
    "key",
    ["", "short-key", "has a space in the middle of it", "x" * 256, "caf\u00e9-" + "0" * 16],
)
def test_a_header_that_cannot_be_a_key_is_refused_clearly_and_files_nothing(
    app: Flask, client: FlaskClient, officer: StaffLogin, key: str
) -> None:
    response = client.post(
        "/api/v1/complaints",
        json=EXAMPLE,
        headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")},
    )
    assert response.status_code == 400
    assert "16 to 255 visible ASCII characters" in response.json["title"]
    assert "Idempotency-Key" in response.json["errors"]
    assert case_count(app) == 0


def test_only_keyed_hashes_of_the_key_and_body_are_stored(
    app: Flask, client: FlaskClient, officer: StaffLogin
) -> None:
    first = post_with_key(client, EXAMPLE)
    with app.app_context():
        row = db.session.execute(select(ApiIdempotencyKey)).scalar_one()
        stored = f"{row.key_hash} {row.request_hash}"
        for secret in (KEY, first.json["passphrase"], seeded.NARRATIVE):
            assert secret not in stored
        # Keyed: a plain hash of the key does not find it, so the table alone links nothing.
        assert row.key_hash != hashlib.sha256(KEY.encode()).hexdigest()
        assert row.case_id == db.session.execute(select(Case.id)).scalar_one()


def test_keys_expire_after_24_hours_and_complaints_purge_removes_them_at_the_next_midnight(
    app: Flask,
    client: FlaskClient,
    runner: FlaskCliRunner,
    officer: StaffLogin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mediation.commands.intake as intake_commands
    import mediation.web.api.routes as api_routes

    start = utcnow()
    assert post_with_key(client, EXAMPLE).status_code == 201
    monkeypatch.setattr(api_routes, "utcnow", lambda: start + timedelta(hours=23, minutes=59))
    assert post_with_key(client, EXAMPLE).status_code == 409
    # The row says only the midnight after the key's 24 hours (G11), so it is purged then;
    # sent again before that but after the 24 hours, it is forgotten (the next test).
    midnight = day_end(start + timedelta(hours=24))
    monkeypatch.setattr(intake_commands, "utcnow", lambda: midnight - timedelta(seconds=1))
    result = runner.invoke(args=["complaints", "purge"])
    assert result.exit_code == 0
    assert "0 expired API idempotency keys" in result.output
    monkeypatch.setattr(intake_commands, "utcnow", lambda: midnight)
    result = runner.invoke(args=["complaints", "purge"])
    assert result.exit_code == 0
    assert "1 expired API idempotency keys" in result.output
    with app.app_context():
        assert db.session.execute(select(ApiIdempotencyKey)).first() is None


def test_an_expired_key_not_yet_purged_is_forgotten_when_it_comes_back(
    app: Flask, client: FlaskClient, officer: StaffLogin, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mediation.web.api.routes as api_routes

    start = utcnow()
    assert post_with_key(client, EXAMPLE).status_code == 201
    monkeypatch.setattr(api_routes, "utcnow", lambda: start + timedelta(hours=25))
    # After 24 hours the key means nothing any more: the request files a new complaint.
    assert post_with_key(client, dict(EXAMPLE, impact="Fewer sessions")).status_code == 201
    assert case_count(app) == 2
    with app.app_context():
        assert db.session.execute(select(func.count(ApiIdempotencyKey.key_hash))).scalar_one() == 1


def test_two_requests_racing_with_one_key_file_one_case(app: Flask, officer: StaffLogin) -> None:
    """The first has claimed the key but not committed when the second arrives: the second
    waits on the claim, then answers with the first's case instead of filing another."""
    from mediation.services import intake_idempotency

    def file(result: list[Any]) -> None:
        with app.app_context():
            try:
                result.append(
                    intake_idempotency.file_from_api(
                        db.session, EXAMPLE, KEY, max_document_bytes=10**6, now=utcnow()
                    )
                )
                db.session.commit()
            except Exception as exc:  # reported below, not swallowed
                db.session.rollback()
                result.append(exc)
            finally:
                db.session.remove()

    first: list[Any] = []
    second: list[Any] = []
    with app.app_context():
        first.append(
            intake_idempotency.file_from_api(
                db.session, EXAMPLE, KEY, max_document_bytes=10**6, now=utcnow()
            )
        )
        racer = threading.Thread(target=file, args=(second,))
        racer.start()
        racer.join(timeout=0.5)  # the racer is now waiting on the claim (or done looking)
        db.session.commit()
        reference = first[0].reference
        db.session.remove()
    racer.join(timeout=30)
    assert not racer.is_alive()
    assert len(second) == 1 and isinstance(second[0], intake_idempotency.AlreadyFiled), second
    assert second[0].reference == reference
    assert case_count(app) == 1


def test_the_openapi_document_describes_the_idempotency_key_as_the_service_checks_it(
    client: FlaskClient,
) -> None:
    from mediation.services.intake_idempotency import KEY_PATTERN

    operation = client.get("/api/v1/openapi.json").json["paths"]["/complaints"]["post"]
    (header,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["in"] == "header" and header["required"] is False
    assert header["schema"]["pattern"] == f"^{KEY_PATTERN.pattern}$"
    assert "never its passphrase" in header["description"]
    assert {"400", "409", "422"} <= set(operation["responses"])


def test_json_nested_too_deeply_is_refused_clearly(app: Flask, client: FlaskClient) -> None:
    for headers in ({}, {"Idempotency-Key": KEY}):
        response = client.post(
            "/api/v1/complaints",
            data="[" * 100_000,
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 400
        assert response.json["title"] == "The JSON is nested too deeply to be a complaint."
    # Deep enough that only some steps can take it: still a clear refusal, never a 500.
    deep = json.dumps(dict(EXAMPLE, what_happened="HERE")).replace(
        '"HERE"', "[" * 990 + '"x"' + "]" * 990
    )
    response = client.post(
        "/api/v1/complaints",
        data=deep,
        content_type="application/json",
        headers={"Idempotency-Key": KEY},
    )
    assert response.status_code in {400, 422}, response.text
    assert case_count(app) == 0


def test_every_api_route_is_in_the_openapi_document(app: Flask, client: FlaskClient) -> None:
    """Each operation the API answers is documented (and each documented one exists), so
    the fuzzer, which works from the document, reaches all of them."""
    import re as regex

    document = client.get("/api/v1/openapi.json").json
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = regex.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            served.add((path, method))
    assert served == documented
