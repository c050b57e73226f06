"""The public body's JSON API, with a token its member of staff made in the browser."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.casework import Notification
from mediation.models.staff import StaffApiToken, StaffUser
from mediation.models.time import utcnow
from mediation.services import accounts, api_tokens
from mediation.services.accounts import actor_for
from mediation.services.audit import Actor
from mediation.services.errors import InvalidInput, NotAllowed
from mediation.services.workflow import perform
from tests import seeded
from tests.casework.seeding import STATEMENT, share_with_the_body
from tests.conftest import TEST_PASSWORD, AuthActions, StaffFactory, StaffLogin

API = "/api/v1/respondent"


def shared_case(app: Flask, make_staff: StaffFactory, body: str = "Marsh County Council") -> str:
    """A case shared with the body and in informal resolution (the body can answer)."""
    reference, _ = sharing_officer_and_case(app, make_staff, body)
    return reference


def sharing_officer_and_case(
    app: Flask,
    make_staff: StaffFactory,
    body: str = "Marsh County Council",
    *,
    informal: bool = True,
) -> tuple[str, StaffLogin]:
    """A case shared with the body (approved during triage), moved on to informal
    resolution unless `informal` is false; its reference and the case officer who shared it."""
    officer = make_staff("case_officer")
    with app.app_context():
        filed = seeded.file_seeded(body=make_staff.body(body))
        user = db.session.get(StaffUser, officer.id)
        assert user is not None
        share_with_the_body(filed, user)
        if informal:
            perform(
                db.session,
                filed.case,
                "start_informal",
                actor_for(user),
                role="case_officer",
                fields={"reason": "Worth a try"},
            )
        db.session.commit()
        return filed.reference, officer


def browser(app: Flask, login: StaffLogin) -> FlaskClient:
    client = app.test_client()
    AuthActions(client).sign_in(login)
    return client


def make_token(client: FlaskClient, label: str = "Our complaints system") -> str:
    page = client.post("/respondent/api-tokens", data={"label": label, "password": TEST_PASSWORD})
    assert page.status_code == 200, page.text
    match = re.search(r'id="token">([^<]+)<', page.text)
    assert match, "no new token on the page"
    return match.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_public_body_works_its_case_over_json_with_a_token_made_in_the_browser(
    app: Flask, make_staff: StaffFactory
) -> None:
    reference = shared_case(app, make_staff)
    with app.app_context():
        body_id = make_staff.body()
    respondent = make_staff("respondent", body_id=body_id)
    client = browser(app, respondent)
    token = make_token(client)
    with app.app_context():
        told = db.session.execute(
            select(Notification).where(Notification.topic == "api_token_made")
        ).scalar_one()
        assert told.recipient_user_id == respondent.id
    listing = client.get("/respondent/api-tokens").text
    assert "Our complaints system" in listing and token not in listing  # shown once
    with client.session_transaction() as session:
        assert token not in str(dict(session))
    api = app.test_client()
    cases = api.get(f"{API}/cases", headers=bearer(token))
    assert cases.status_code == 200 and cases.json["total"] == 1
    [line] = cases.json["cases"]
    assert line["reference"] == reference and line["reply_due_on"] is not None
    case = api.get(line["url"], headers=bearer(token)).json
    assert case["statement"] == STATEMENT and case["complainant"] is None
    assert "respondent_reply" in case["actions"]
    sent = api.post(
        f"{API}/cases/{reference}/reply", json={"text": "We will review."}, headers=bearer(token)
    )
    assert sent.status_code == 201
    document = {"name": "letter.pdf", "content_base64": base64.b64encode(b"%PDF-1.4").decode()}
    added = api.post(
        f"{API}/cases/{reference}/documents", json={"documents": [document]}, headers=bearer(token)
    )
    assert added.status_code == 201 and added.json == {"sent": 1}
    case = api.get(f"{API}/cases/{reference}", headers=bearer(token)).json
    assert case["correspondence"][-1]["text"] == "We will review."
    assert case["correspondence"][-1]["from"] == "you"
    assert case["documents_sent"][0]["stored_bytes"] > len(b"%PDF-1.4")  # sealed, padded
    with app.app_context():
        used = db.session.execute(
            select(AuditEntry).where(AuditEntry.action == "api_token.used")
        ).scalars()
        assert [(e.case_reference, e.details["call"]) for e in used] == [
            (reference, "respondent_reply"),
            (reference, "respondent_documents"),
        ]
    # Revoked in the browser: it opens nothing.
    with app.app_context():
        token_id = db.session.execute(select(StaffApiToken.id)).scalar_one()
    client.post(f"/respondent/api-tokens/{token_id}/revoke")
    refused = api.get(f"{API}/cases", headers=bearer(token))
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_nothing_the_token_reaches_names_the_complainant_or_tells_their_story(
    app: Flask, make_staff: StaffFactory
) -> None:
    reference = shared_case(app, make_staff)
    with app.app_context():
        body_id = make_staff.body()
    token = make_token(browser(app, make_staff("respondent", body_id=body_id)))
    api = app.test_client()
    responses = [
        api.get(f"{API}/cases", headers=bearer(token)),
        api.get(f"{API}/cases/{reference}", headers=bearer(token)),
        api.get(f"{API}/cases/CM-AAAA-AAAA", headers=bearer(token)),
        api.post(f"{API}/cases/{reference}/reply", json={"text": ""}, headers=bearer(token)),
    ]
    for response in responses:
        for secret in seeded.SEEDED_STRINGS:
            assert secret not in response.text, (response.request.path, secret)


def test_a_token_reaches_only_its_own_bodys_cases(app: Flask, make_staff: StaffFactory) -> None:
    reference = shared_case(app, make_staff, "Marsh County Council")
    with app.app_context():
        other_body = make_staff.body("Fenland District Council")
        db.session.commit()
    token = make_token(browser(app, make_staff("respondent", body_id=other_body)))
    api = app.test_client()
    assert api.get(f"{API}/cases", headers=bearer(token)).json["total"] == 0
    assert api.get(f"{API}/cases/{reference}", headers=bearer(token)).status_code == 404
    reply = api.post(f"{API}/cases/{reference}/reply", json={"text": "x"}, headers=bearer(token))
    assert reply.status_code == 404


def test_tokens_end_with_the_account_and_with_time(app: Flask, make_staff: StaffFactory) -> None:
    shared_case(app, make_staff)
    with app.app_context():
        body_id = make_staff.body()
    respondent = make_staff("respondent", body_id=body_id)
    client = browser(app, respondent)
    first, second = make_token(client, "one"), make_token(client, "two")
    api = app.test_client()
    with app.app_context():
        row = db.session.get(StaffApiToken, api_tokens._digest(second))
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert api.get(f"{API}/cases", headers=bearer(second)).status_code == 401
    assert api.get(f"{API}/cases", headers=bearer(first)).status_code == 200
    with app.app_context():
        accounts.set_active(db.session, Actor.system("test"), respondent.id, False)
        db.session.commit()
        assert db.session.execute(select(StaffApiToken)).first() is None
    assert api.get(f"{API}/cases", headers=bearer(first)).status_code == 401


def test_only_public_body_staff_make_tokens_and_only_a_few(
    app: Flask, make_staff: StaffFactory
) -> None:
    officer = make_staff("case_officer")
    assert browser(app, officer).get("/respondent/api-tokens").status_code == 403
    with app.app_context():
        body_id = make_staff.body()
        db.session.commit()
    respondent = make_staff("respondent", body_id=body_id)
    with app.app_context():
        user = db.session.get(StaffUser, officer.id)
        assert user is not None
        try:
            api_tokens.create(db.session, user, "mine", utcnow())
        except NotAllowed:
            pass
        else:
            raise AssertionError("a case officer made an API token")
        them = db.session.get(StaffUser, respondent.id)
        assert them is not None
        for n in range(api_tokens.MAX_PER_USER):
            api_tokens.create(db.session, them, f"system {n}", utcnow())
        try:
            api_tokens.create(db.session, them, "one more", utcnow())
        except InvalidInput as exc:
            assert "Revoke one" in str(exc)
        else:
            raise AssertionError("a sixth token was made")
        db.session.commit()  # the five
    client = browser(app, respondent)
    blank = client.post("/respondent/api-tokens", data={"label": " ", "password": TEST_PASSWORD})
    assert "There is a problem" in blank.text and 'id="token"' not in blank.text
    wrong = client.post("/respondent/api-tokens", data={"label": "x", "password": "not it"})
    assert "Enter your password correctly" in wrong.text and 'id="token"' not in wrong.text
    sixth = client.post("/respondent/api-tokens", data={"label": "x", "password": TEST_PASSWORD})
    assert "<title>Error:" in sixth.text and "Revoke one" in sixth.text


def test_refusals_are_clear_and_change_nothing(app: Flask, make_staff: StaffFactory) -> None:
    reference = shared_case(app, make_staff)
    with app.app_context():
        body_id = make_staff.body()
    token = make_token(browser(app, make_staff("respondent", body_id=body_id)))
    api = app.test_client()
    for header in ("", "Bearer ", f"Bearer {token}x", f"Basic {token}", "Bearer cmr_" + "A" * 43):
        assert api.get(f"{API}/cases", headers={"Authorization": header}).status_code == 401
    assert api.get(f"{API}/cases?page=0", headers=bearer(token)).status_code == 400
    decline = api.post(
        f"{API}/cases/{reference}/mediation", json={"agree": False}, headers=bearer(token)
    )
    assert decline.status_code == 422 and "reason" in decline.json["errors"]
    early = api.post(
        f"{API}/cases/{reference}/survey",
        json={"satisfaction": 3, "fairness": 3, "relationship": 3, "would_use_again": False},
        headers=bearer(token),
    )
    assert early.status_code == 409 and early.json["detail"]
    bad = api.post(
        f"{API}/cases/{reference}/documents",
        json={"documents": [{"name": "run.exe", "content_base64": "AA=="}]},
        headers=bearer(token),
    )
    assert bad.status_code == 422 and "documents[0].name" in bad.json["errors"]


def test_an_operator_lists_tokens_and_revokes_a_leaked_one(
    app: Flask, make_staff: StaffFactory
) -> None:
    shared_case(app, make_staff)
    with app.app_context():
        body_id = make_staff.body()
    respondent = make_staff("respondent", body_id=body_id)
    token = make_token(browser(app, respondent), "Case system")
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["users", "tokens"])
    assert listed.exit_code == 0
    fingerprint, email, label = listed.output.split("\t")[:3]
    assert email == respondent.email and label == "Case system"
    assert token not in listed.output
    assert runner.invoke(args=["users", "revoke-token", "abc"]).exit_code == 1
    revoked = runner.invoke(args=["users", "revoke-token", fingerprint])
    assert revoked.exit_code == 0, revoked.output
    assert app.test_client().get(f"{API}/cases", headers=bearer(token)).status_code == 401


def test_the_body_is_told_only_the_stages_its_portal_names(
    app: Flask, make_staff: StaffFactory
) -> None:
    """Found in review: the raw state told the body a case was in triage, or not accepted,
    where its portal says only "Open"."""
    reference, _ = sharing_officer_and_case(app, make_staff, informal=False)
    with app.app_context():
        body_id = make_staff.body()
    token = make_token(browser(app, make_staff("respondent", body_id=body_id)))
    case = app.test_client().get(f"{API}/cases/{reference}", headers=bearer(token)).json
    assert case["status"] == "open" and case["status_label"] == "Open"


def test_a_reference_that_cannot_be_one_is_not_found(app: Flask, make_staff: StaffFactory) -> None:
    """Found in review: a NUL in the reference reached PostgreSQL and failed the request."""
    shared_case(app, make_staff)
    with app.app_context():
        body_id = make_staff.body()
    respondent = make_staff("respondent", body_id=body_id)
    client = browser(app, respondent)
    token = make_token(client)
    api = app.test_client()
    for path in ("/cases/%00", "/cases/CM%00AAAA"):
        assert api.get(API + path, headers=bearer(token)).status_code == 404
    assert client.get("/respondent/cases/CM-%00").status_code == 404
    revoked = client.post("/respondent/api-tokens/%00/revoke", follow_redirects=True)
    assert "There is no such token of yours." in revoked.text


def test_a_case_takes_only_so_many_documents_from_the_body(
    app: Flask, make_staff: StaffFactory
) -> None:
    app.config["MAX_CASE_DOCUMENTS"] = 2
    reference = shared_case(app, make_staff)
    with app.app_context():
        body_id = make_staff.body()
    token = make_token(browser(app, make_staff("respondent", body_id=body_id)))
    api = app.test_client()
    document = {"name": "a.txt", "content_base64": base64.b64encode(b"notes").decode()}
    three = {"documents": [document] * 3}
    refused = api.post(f"{API}/cases/{reference}/documents", json=three, headers=bearer(token))
    assert refused.status_code == 409 and "the most it can take" in refused.json["detail"]
    two = {"documents": [document] * 2}
    sent = api.post(f"{API}/cases/{reference}/documents", json=two, headers=bearer(token))
    assert sent.status_code == 201  # the refused three left nothing behind
    with app.app_context():
        told = db.session.execute(
            select(Notification).where(Notification.topic == "respondent_answer")
        ).scalars()
        assert len(list(told)) == 1, "one email to the case officer for the two documents"


def test_the_bodys_documents_are_held_to_the_intakes_types_and_names(
    app: Flask, make_staff: StaffFactory
) -> None:
    """The portal took any file, named as sent: an .exe, or a name whose bidi override
    shows "reporttxt.pdf" to the case officer opening "report\u202efdp.txt"."""
    import io

    reference, officer = sharing_officer_and_case(app, make_staff)
    with app.app_context():
        body_id = make_staff.body()
    client = browser(app, make_staff("respondent", body_id=body_id))
    refused = client.post(
        f"/respondent/cases/{reference}/documents",
        data={"document": (io.BytesIO(b"MZ"), "tool.exe")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "is not a file type we accept" in refused.text
    sent = client.post(
        f"/respondent/cases/{reference}/documents",
        data={"document": (io.BytesIO(b"minutes"), "report\u202efdp.txt")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    page = browser(app, officer).get(f"/casework/cases/{reference}").text
    assert "reportfdp.txt" in page and "\u202e" not in page and "tool.exe" not in page
