"""The complainant's JSON API: what the portal does, over JSON with a bearer token."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from mediation.extensions import db
from mediation.models.cases import Case, CaseMessage
from mediation.models.intake import ComplainantSession
from mediation.models.staff import StaffUser
from mediation.services import disclosure_statements, intake_rules, triage
from mediation.services.accounts import actor_for
from mediation.services.workflow import perform
from mediation.shared_store import store
from tests import seeded
from tests.conftest import AuthActions, StaffFactory

API = "/api/v1/complainant"


def filed(app: Flask, make_staff: StaffFactory) -> tuple[str, str]:
    make_staff("case_officer")
    with app.app_context():
        made = seeded.file_seeded(body=make_staff.body())
        db.session.commit()
        return made.reference, made.passphrase


def sign_in(client: FlaskClient, reference: str, passphrase: str) -> dict[str, str]:
    response = client.post(
        f"{API}/sessions", json={"reference": reference, "passphrase": passphrase}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json['token']}"}


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_complainant_follows_and_acts_on_their_case_over_json(
    app: Flask, make_staff: StaffFactory
) -> None:
    reference, passphrase = filed(app, make_staff)
    client = app.test_client()
    auth = sign_in(client, reference, passphrase)
    case = client.get(f"{API}/complaint", headers=auth)
    assert case.status_code == 200 and case.headers["Cache-Control"] == "no-store"
    assert case.json["reference"] == reference and case.json["status"] == "submitted"
    assert case.json["public_body"] == "Marsh County Council"
    assert case.json["timeline"][0]["text"] == "You sent your complaint"
    assert "withdraw" in case.json["actions"] and case.json["messages"] == []
    assert (
        client.post(f"{API}/messages", json={"text": seeded.MESSAGE}, headers=auth).status_code
        == 201
    )
    document = {"name": "minutes.txt", "content_base64": base64.b64encode(b"minutes").decode()}
    added = client.post(f"{API}/documents", json={"documents": [document]}, headers=auth)
    assert added.status_code == 201 and added.json["added"] == 1
    assert added.json["documents"] == [
        {
            "name": "minutes.txt",
            "removed": [],
            "kept_as_sent": False,
            "note": "We found no hidden details to remove.",
        }
    ]
    case = client.get(f"{API}/complaint", headers=auth).json
    assert case["messages"][0] == {
        "on": case["messages"][0]["on"],
        "author": "You",
        "mine": True,
        "text": seeded.MESSAGE,
    }
    [listed] = case["documents"]
    assert listed["name"] == "minutes.txt" and listed["by"] == "You"
    download = client.get(listed["url"], headers=auth)
    assert download.data == b"minutes"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert client.delete(f"{API}/session", headers=auth).status_code == 204
    ended = client.get(f"{API}/complaint", headers=auth)
    assert ended.status_code == 401 and ended.headers["WWW-Authenticate"].startswith("Bearer")
    assert ended.mimetype == "application/problem+json"
    assert count(app, ComplainantSession) == 0


def test_a_wrong_passphrase_is_refused_as_an_unknown_reference_is_and_counted(
    app: Flask, make_staff: StaffFactory
) -> None:
    reference, _ = filed(app, make_staff)
    client = app.test_client()
    wrong = client.post(
        f"{API}/sessions", json={"reference": reference, "passphrase": "not the passphrase"}
    )
    unknown = client.post(
        f"{API}/sessions", json={"reference": "CM-AAAA-AAAA", "passphrase": "whatever it is"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json["title"] == unknown.json["title"]
    assert "token" not in wrong.json
    with app.app_context():  # counted in the shared store, so the next guess waits longer
        assert store().gate_names()
    for _ in range(4):
        last = client.post(
            f"{API}/sessions", json={"reference": reference, "passphrase": "another guess"}
        )
    assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1


def test_the_token_opens_nothing_outside_the_authorization_header(
    app: Flask, make_staff: StaffFactory
) -> None:
    reference, passphrase = filed(app, make_staff)
    client = app.test_client()
    token = sign_in(client, reference, passphrase)["Authorization"].removeprefix("Bearer ")
    assert client.get(f"{API}/complaint?token={token}").status_code == 401
    for header in (f"Basic {token}", f"Bearer {token[:-2]}", "Bearer x.y", f"Bearer {token} x"):
        response = client.get(f"{API}/complaint", headers={"Authorization": header})
        assert response.status_code == 401, header
    session_id, _, key = token.partition(".")
    forged = f"Bearer {session_id}.{'A' * len(key)}"  # the row's id without its key
    assert client.get(f"{API}/complaint", headers={"Authorization": forged}).status_code == 401


def test_staff_signed_in_in_the_browser_reach_no_complainant_data(
    app: Flask, make_staff: StaffFactory
) -> None:
    filed(app, make_staff)
    respondent = make_staff("respondent")
    client = app.test_client()
    AuthActions(client).sign_in(respondent)
    response = client.get(f"{API}/complaint")
    assert response.status_code == 401
    for secret in seeded.SEEDED_STRINGS:
        assert secret not in response.text


def test_refusals_name_each_field_and_write_nothing(app: Flask, make_staff: StaffFactory) -> None:
    reference, passphrase = filed(app, make_staff)
    client = app.test_client()
    auth = sign_in(client, reference, passphrase)
    before = count(app, CaseMessage)
    blank = client.post(f"{API}/messages", json={"text": "  ", "extra": 1}, headers=auth)
    assert blank.status_code == 422
    assert blank.json["errors"] == {"text": "Enter your message.", "extra": "Unknown field."}
    nul = client.post(f"{API}/messages", json={"text": "a\x00b"}, headers=auth)
    assert nul.status_code == 422 and "text" in nul.json["errors"]
    assert client.post(f"{API}/messages", data="text", headers=auth).status_code == 415
    bad = client.post(
        f"{API}/documents",
        json={"documents": [{"name": "virus.exe", "content_base64": "AA=="}]},
        headers=auth,
    )
    assert bad.status_code == 422 and "documents[0].name" in bad.json["errors"]
    assert count(app, CaseMessage) == before
    missing = client.post(f"{API}/sessions", json={})
    assert set(missing.json["errors"]) == {"reference", "passphrase"}


def test_withdrawing_needs_confirming_and_then_the_case_is_withdrawn(
    app: Flask, make_staff: StaffFactory
) -> None:
    reference, passphrase = filed(app, make_staff)
    client = app.test_client()
    auth = sign_in(client, reference, passphrase)
    unconfirmed = client.post(f"{API}/withdraw", json={"reason": "Sorted out"}, headers=auth)
    assert unconfirmed.status_code == 422 and "confirm" in unconfirmed.json["errors"]
    done = client.post(f"{API}/withdraw", json={"confirm": True}, headers=auth)
    assert done.status_code == 200 and done.json["status"] == "withdrawn"
    again = client.post(f"{API}/contest-closure", json={"reason": "Why"}, headers=auth)
    assert again.status_code == 409
    adverse = client.post(
        f"{API}/adverse-treatment", json={"kind": "bribery", "details": "x"}, headers=auth
    )
    assert adverse.status_code == 422 and "kind" in adverse.json["errors"]
    reported = client.post(
        f"{API}/adverse-treatment",
        json={"kind": "funding_cut", "details": "The grant stopped."},
        headers=auth,
    )
    assert reported.status_code == 200
    with app.app_context():
        assert db.session.execute(select(Case.urgent)).scalar_one()


def test_the_complainant_answers_the_statement_for_the_public_body(
    app: Flask, make_staff: StaffFactory
) -> None:
    reference, passphrase = filed(app, make_staff)
    text = "A grant was cut without the notice the Compact asks for."
    with app.app_context():
        officer = db.session.execute(
            select(StaffUser).where(StaffUser.role == "case_officer")
        ).scalar_one()
        case = db.session.execute(select(Case)).scalar_one()
        for action in ("acknowledge", "start_triage"):
            perform(db.session, case, action, actor_for(officer), role="case_officer")
        assert case.respondent_body_id is not None
        triage.record_triage(
            db.session,
            officer,
            case,
            categories=["funding_change"],
            respondent_body_id=case.respondent_body_id,
        )
        disclosure_statements.save_draft(db.session, officer, case, text)
        disclosure_statements.send_for_approval(db.session, officer, case)
        db.session.commit()
    client = app.test_client()
    auth = sign_in(client, reference, passphrase)
    statement = client.get(f"{API}/complaint", headers=auth).json["statement"]
    assert statement["status"] == "awaiting" and statement["awaiting"]["text"] == text
    answer = {"statement_id": statement["awaiting"]["id"], "approve": True}
    stale = client.post(f"{API}/statement", json={**answer, "digest": "0" * 64}, headers=auth)
    assert stale.status_code == 409
    unexplained = client.post(
        f"{API}/statement",
        json={**answer, "approve": False, "digest": statement["awaiting"]["digest"]},
        headers=auth,
    )
    assert unexplained.json["errors"] == {"change_request": "Say what should change."}
    approved = client.post(
        f"{API}/statement", json={**answer, "digest": statement["awaiting"]["digest"]}, headers=auth
    )
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    shown = client.get(f"{API}/complaint", headers=auth).json["statement"]
    assert shown["status"] == "approved" and shown["awaiting"] is None
    assert shown["approved"]["text"] == text  # what the public body reads now


def test_an_id_past_what_the_database_holds_is_not_found_not_a_failure(
    app: Flask, make_staff: StaffFactory
) -> None:
    """Found by schemathesis: 2**63 as a document id overflowed in the driver (a 500), in
    the API and on the portal alike; every <int:...> in a URL is now a 32-bit row id."""
    reference, passphrase = filed(app, make_staff)
    client = app.test_client()
    auth = sign_in(client, reference, passphrase)
    for huge in (2**31, 2**63, 10**30):
        response = client.get(f"{API}/documents/{huge}", headers=auth)
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
    client.post("/my-complaint/sign-in", data={"reference": reference, "passphrase": passphrase})
    assert client.get(f"/my-complaint/documents/{2**63}").status_code == 404
    answer = {"statement_id": 2**63, "digest": "x", "approve": True}
    refused = client.post(f"{API}/statement", json=answer, headers=auth)
    assert refused.status_code == 422 and "statement_id" in refused.json["errors"]


def test_an_anonymous_complaint_is_made_more_open_with_who_complains(
    app: Flask, make_staff: StaffFactory
) -> None:
    make_staff("case_officer")
    with app.app_context():
        made = seeded.file_seeded("anonymous", body=make_staff.body())
        db.session.commit()
        reference, passphrase = made.reference, made.passphrase
    client = app.test_client()
    auth = sign_in(client, reference, passphrase)
    nameless = client.post(
        f"{API}/openness", json={"level": "confidential", "confirm": True}, headers=auth
    )
    assert nameless.status_code == 422 and "identity" in nameless.json["errors"]
    partial = client.post(
        f"{API}/openness",
        json={"level": "confidential", "confirm": True, "identity": {"email": "x"}},
        headers=auth,
    )
    assert {"identity.organisation", "identity.email"} <= set(partial.json["errors"])
    lower = client.post(
        f"{API}/openness", json={"level": "anonymous", "confirm": True}, headers=auth
    )
    assert "level" in lower.json["errors"]
    identity = dict(seeded.IDENTITY)
    unconfirmed = client.post(
        f"{API}/openness", json={"level": "confidential", "identity": identity}, headers=auth
    )
    assert unconfirmed.status_code == 422 and list(unconfirmed.json["errors"]) == ["confirm"]
    opened = client.post(
        f"{API}/openness",
        json={"level": "confidential", "confirm": True, "identity": identity},
        headers=auth,
    )
    assert opened.status_code == 200 and opened.json == {"openness": "confidential"}
    with app.app_context():
        case = db.session.execute(select(Case)).scalar_one()
        assert case.identity is not None and case.shared_identity is None
        assert seeded.IDENTITY["organisation"].encode() not in case.identity
    again = client.post(
        f"{API}/openness",
        json={"level": "open", "confirm": True, "identity": identity},
        headers=auth,
    )
    assert again.json["errors"] == {
        "identity": "Leave this out: the service knows who you are already."
    }
    opened = client.post(f"{API}/openness", json={"level": "open", "confirm": True}, headers=auth)
    assert opened.json == {"openness": "open"}
    done = client.post(f"{API}/openness", json={"level": "open", "confirm": True}, headers=auth)
    assert done.status_code == 409


def test_the_closing_survey_is_answered_once_the_case_is_closed(
    app: Flask, make_staff: StaffFactory
) -> None:
    reference, passphrase = filed(app, make_staff)
    client = app.test_client()
    auth = sign_in(client, reference, passphrase)
    answers = {"satisfaction": 4, "fairness": 5, "relationship": 3, "would_use_again": True}
    early = client.post(f"{API}/survey", json=answers, headers=auth)
    assert early.status_code == 409 and "closed" in early.json["title"]
    with app.app_context():
        db.session.execute(select(Case)).scalar_one().state = "closed"  # as closing leaves it
        db.session.commit()
    wrong = client.post(
        f"{API}/survey", json={**answers, "fairness": 6, "would_use_again": "yes"}, headers=auth
    )
    assert set(wrong.json["errors"]) == {"fairness", "would_use_again"}
    assert client.post(f"{API}/survey", json=answers, headers=auth).status_code == 201
    assert client.post(f"{API}/survey", json=answers, headers=auth).status_code == 409


def test_only_the_whole_token_signs_out_and_the_api_sets_no_cookie(
    app: Flask, make_staff: StaffFactory
) -> None:
    reference, passphrase = filed(app, make_staff)
    client = app.test_client()
    auth = sign_in(client, reference, passphrase)
    session_id, _, key = auth["Authorization"].removeprefix("Bearer ").partition(".")
    forged = {"Authorization": f"Bearer {session_id}.{'A' * len(key)}"}
    assert client.delete(f"{API}/session", headers=forged).status_code == 204
    response = client.get(f"{API}/complaint", headers=auth)
    assert response.status_code == 200, "the row's id alone ended the session"
    assert "Set-Cookie" not in response.headers


def test_documents_sent_too_often_are_refused_with_when_to_send_again(
    throttled_app: Flask, make_staff: StaffFactory
) -> None:
    throttled_app.config["UPLOAD_RATE_LIMIT"] = "2 per hour"
    reference, passphrase = filed(throttled_app, make_staff)
    client = throttled_app.test_client()
    auth = sign_in(client, reference, passphrase)
    document = {"name": "n.txt", "content_base64": base64.b64encode(b"notes").decode()}
    statuses = [
        client.post(f"{API}/documents", json={"documents": [document]}, headers=auth)
        for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [201, 201, 429]
    assert 0 < int(statuses[2].headers["Retry-After"]) <= 3600
    assert "No document was added" in statuses[2].json["title"]


def test_documents_past_the_limit_are_refused_before_they_are_read_or_cleaned(
    throttled_app: Flask, make_staff: StaffFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: the API cleaned every file (the costliest check) and only then
    counted the upload limit, so a client past it still cost the server its cleaning."""
    throttled_app.config["UPLOAD_RATE_LIMIT"] = "1 per hour"
    reference, passphrase = filed(throttled_app, make_staff)
    client = throttled_app.test_client()
    auth = sign_in(client, reference, passphrase)
    document = {"name": "n.txt", "content_base64": base64.b64encode(b"notes").decode()}
    first = client.post(f"{API}/documents", json={"documents": [document]}, headers=auth)
    assert first.status_code == 201
    cleaned: list[str] = []
    real = intake_rules.cleaned_upload

    def spy(name: str, content: bytes, **kwargs: Any) -> Any:
        cleaned.append(name)
        return real(name, content, **kwargs)

    monkeypatch.setattr(intake_rules, "cleaned_upload", spy)
    refused = client.post(f"{API}/documents", json={"documents": [document] * 5}, headers=auth)
    assert refused.status_code == 429
    assert "No document was added" in refused.json["title"]
    assert cleaned == []


def test_no_answer_under_the_api_sets_a_cookie(app: Flask) -> None:
    """Found in review: a 404 or 405 under /api/ (no route, so no blueprint) still set the
    session cookie that the API's own answers do not."""
    client = app.test_client()
    for method, path in (
        ("GET", "/api/v1/nope"),
        ("PUT", "/api/v1/complaints"),
        ("GET", f"{API}/documents/0"),
    ):
        response = client.open(path, method=method)
        assert response.status_code in {404, 405}
        assert "Set-Cookie" not in response.headers, path
        assert response.mimetype == "application/problem+json"
