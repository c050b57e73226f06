"""schemathesis against /api/v1/openapi.json: whatever is sent, never a 500; answers match the
document; every refusal is a problem document with a clear message; a refused complaint
writes nothing, and an accepted one writes exactly one case."""

from __future__ import annotations

import gzip
import json
import os
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.cases import Case
from tests.conftest import StaffFactory


@pytest.fixture
def api_schema(app: Flask, make_staff: StaffFactory) -> Any:
    make_staff("case_officer")  # complaints are sealed to the custodians
    with app.app_context():
        make_staff.body("Marsh County Council")
        db.session.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def as_sent(case: Any) -> Any:
    """The case as a client sends it. A query parameter whose value is an empty list is
    left out of the URL altogether, which turns a negative case (an unknown parameter) into
    a valid request that is rightly answered 200: it is sent with an empty value instead,
    so the unknown parameter still reaches the API."""
    if case.query:
        case.query = {name: [""] if value == [] else value for name, value in case.query.items()}
    return case


def counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        cases = db.session.execute(select(func.count()).select_from(Case)).scalar_one()
        entries = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        db.session.remove()
        return cases, entries


def test_the_document_describes_the_complaints_operation(api_schema: Any) -> None:
    assert api_schema["/complaints"]["POST"] is not None


@pytest.mark.parametrize(
    "mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_api_never_fails_and_refuses_clearly_without_writing(
    mode: schemathesis.GenerationMode, data: st.DataObject, api_schema: Any, app: Flask
) -> None:
    case = as_sent(data.draw(api_schema["/complaints"]["POST"].as_strategy(generation_mode=mode)))
    before = counts(app)
    response = case.call()
    after = counts(app)
    assert response.status_code < 500, response.text
    # The document cannot say which body ids exist, or that an address is deliverable: a
    # schema-valid complaint refused with a 422 naming the field is right, not a failure.
    case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance])
    if response.status_code == 201:
        assert after[0] == before[0] + 1, "an accepted complaint is exactly one new case"
        return
    assert after == before, f"a refused request ({response.status_code}) wrote something"
    problem = response.json()
    assert isinstance(problem.get("title"), str) and len(problem["title"]) > 10, problem
    for path, message in (problem.get("errors") or {}).items():
        assert isinstance(message, str) and message.strip(), path


# Examples per complainant operation; a longer run: API_FUZZ_EXAMPLES=200 make pytest.
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))
COMPLAINANT_OPERATIONS = [
    ("/complainant/sessions", "POST"),
    ("/complainant/complaint", "GET"),
    ("/complainant/messages", "POST"),
    ("/complainant/documents", "POST"),
    ("/complainant/documents/{document_id}", "GET"),
    ("/complainant/statement", "POST"),
    ("/complainant/withdraw", "POST"),
    ("/complainant/contest-closure", "POST"),
    ("/complainant/adverse-treatment", "POST"),
    ("/complainant/openness", "POST"),
    ("/complainant/survey", "POST"),
    ("/complainant/session", "DELETE"),
]


@pytest.fixture
def complainant_token(app: Flask, make_staff: StaffFactory) -> str:
    from tests import seeded

    make_staff("case_officer")
    with app.app_context():
        filed = seeded.file_seeded(body=make_staff.body())
        db.session.commit()
        reference, passphrase = filed.reference, filed.passphrase
    client = app.test_client()
    response = client.post(
        "/api/v1/complainant/sessions", json={"reference": reference, "passphrase": passphrase}
    )
    assert response.status_code == 201
    token = str(response.json["token"])
    # A document on the case, so that its download is fuzzed too (ids 1 and up).
    document = {"name": "minutes.txt", "content_base64": "bWludXRlcw=="}
    added = client.post(
        "/api/v1/complainant/documents",
        json={"documents": [document]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert added.status_code == 201
    return token


@pytest.mark.parametrize(("path", "method"), COMPLAINANT_OPERATIONS)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_complainant_operations_never_fail_and_refuse_clearly(
    path: str, method: str, data: st.DataObject, complainant_token: str, app: Flask
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    mode = data.draw(
        st.sampled_from(
            [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
        )
    )
    case = as_sent(data.draw(schema[path][method].as_strategy(generation_mode=mode)))
    signed_in = data.draw(st.booleans())
    headers = {"Authorization": f"Bearer {complainant_token}"} if signed_in else {}
    response = case.call(headers=headers)
    assert response.status_code < 500, response.text
    case.validate_response(
        response,
        headers=headers,
        excluded_checks=[
            # Which ids exist, which digest is current and which step the case allows are
            # not in the document: a schema-valid request refused for them is right.
            schemathesis.checks.positive_data_acceptance,
            # The token is given in the headers for every request, as a client sends it.
            schemathesis.checks.ignored_auth,
        ],
    )
    if response.status_code >= 400:
        problem = response.json()
        assert isinstance(problem.get("title"), str) and len(problem["title"]) > 10, problem


RESPONDENT_OPERATIONS = [
    ("/respondent/cases", "GET"),
    ("/respondent/cases/{reference}", "GET"),
    ("/respondent/cases/{reference}/reply", "POST"),
    ("/respondent/cases/{reference}/proposal", "POST"),
    ("/respondent/cases/{reference}/mediation", "POST"),
    ("/respondent/cases/{reference}/documents", "POST"),
    ("/respondent/cases/{reference}/survey", "POST"),
]


@pytest.fixture
def respondent_token(app: Flask, make_staff: StaffFactory) -> tuple[str, str]:
    """A token of the body's member of staff, and the reference of a case shared with it."""
    from mediation.models.staff import StaffUser
    from mediation.models.time import utcnow
    from mediation.services import api_tokens
    from tests import seeded
    from tests.casework.seeding import share_with_the_body

    officer = make_staff("case_officer")
    with app.app_context():
        body_id = make_staff.body()
        db.session.commit()
    respondent = make_staff("respondent", body_id=body_id)
    with app.app_context():
        filed = seeded.file_seeded(body=body_id)
        user = db.session.get(StaffUser, officer.id)
        them = db.session.get(StaffUser, respondent.id)
        assert user is not None and them is not None
        share_with_the_body(filed, user)
        token = api_tokens.create(db.session, them, "fuzzing", utcnow())
        db.session.commit()
        return token, filed.reference


@pytest.mark.parametrize(("path", "method"), RESPONDENT_OPERATIONS)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_respondent_operations_never_fail_and_refuse_clearly(
    path: str, method: str, data: st.DataObject, respondent_token: tuple[str, str], app: Flask
) -> None:
    token, reference = respondent_token
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    mode = data.draw(
        st.sampled_from(
            [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
        )
    )
    case = as_sent(data.draw(schema[path][method].as_strategy(generation_mode=mode)))
    # The body's own case, half the time (a negative case keeps its invalid reference).
    positive = mode == schemathesis.GenerationMode.POSITIVE
    if case.path_parameters and positive and data.draw(st.booleans()):
        case.path_parameters["reference"] = reference
    headers = {"Authorization": f"Bearer {token}"} if data.draw(st.booleans()) else {}
    response = case.call(headers=headers)
    assert response.status_code < 500, response.text
    case.validate_response(
        response,
        headers=headers,
        excluded_checks=[
            schemathesis.checks.positive_data_acceptance,
            schemathesis.checks.ignored_auth,
        ],
    )
    if response.status_code >= 400:
        problem = response.json()
        assert isinstance(problem.get("title"), str) and len(problem["title"]) > 10, problem


# Bodies a stranger can send to any operation that reads one, and what the answer must say.
HOSTILE_BODIES: list[tuple[str, bytes, dict[str, str], str]] = [
    ("invalid JSON", b'{"a": 1,}', {"Content-Type": "application/json"}, "not valid JSON"),
    ("bad UTF-8", b'{"a": "\xc3\x28"}', {"Content-Type": "application/json"}, "not UTF-8"),
    (
        "gzip, said",
        gzip.compress(b"{}"),
        {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        "uncompressed",
    ),
    ("gzip, unsaid", gzip.compress(b"{}"), {"Content-Type": "application/json"}, "gzip"),
    ("no JSON type", b"{}", {"Content-Type": "text/plain"}, "Content-Type"),
    ("deep", b"[" * 50_000 + b"]" * 50_000, {"Content-Type": "application/json"}, "nested"),
    (
        "200,000 unknown fields",
        json.dumps({f"f{i}": 0 for i in range(200_000)}).encode(),
        {"Content-Type": "application/json"},
        "",
    ),
    (
        "invisible text",
        json.dumps(
            {"text": "\u200b\ufeff\u2060", "reason": "\u2060", "details": "\ufeff"}
        ).encode(),
        {"Content-Type": "application/json"},
        "",
    ),
]


class BrokenStream:
    """A body whose reading fails as gunicorn's does on a broken chunked encoding."""

    def read(self, size: int = -1) -> bytes:
        raise RuntimeError("Invalid chunk size")

    readline = read


def test_every_operation_that_reads_a_body_refuses_hostile_bodies_clearly(
    app: Flask, complainant_token: str, respondent_token: tuple[str, str]
) -> None:
    token, reference = respondent_token
    document = app.test_client().get("/api/v1/openapi.json").json
    client = app.test_client()
    operations = [
        (path.replace("{reference}", reference), method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in {"post", "put", "patch"}
    ]
    assert len(operations) >= 15
    for path, method in operations:
        bearer = complainant_token if path.startswith("/complainant/") else token
        headers = {"Authorization": f"Bearer {bearer}"}
        for what, body, sent_headers, says in HOSTILE_BODIES:
            response = client.open(
                f"/api/v1{path}", method=method, data=body, headers={**headers, **sent_headers}
            )
            assert response.status_code < 500, (path, what, response.status_code)
            assert response.mimetype == "application/problem+json", (path, what)
            problem = response.json
            assert says in problem["title"], (path, what, problem)
            if says != "Content-Type":
                assert "Content-Type" not in problem["title"], (path, what, problem)
            assert len(response.data) < 5_000, (path, what, len(response.data))
        broken = client.open(
            f"/api/v1{path}",
            method=method,
            headers=headers,
            content_type="application/json",
            environ_overrides={"wsgi.input": BrokenStream(), "wsgi.input_terminated": True},
        )
        assert broken.status_code == 400, (path, broken.status_code)
        assert "could not be read" in broken.json["detail"]
