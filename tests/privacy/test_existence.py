"""G11: for every role, a case it may not see answers exactly as one that does not exist.

Every per-case route of every role (case officers, mediators, the public body's staff in
the browser and through the API, analysts, administrators) is asked about (a) a case the
role may not see and (b) a reference of the same format that no case has; the two answers
must be the same: status, body (the reference itself aside), headers and what the session
cookie is left holding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mediation.domain.permissions import Permission, allows
from mediation.extensions import db
from mediation.models.staff import StaffUser
from mediation.models.time import utcnow
from mediation.services import api_tokens, complaints, identity_access, keyring
from tests import seeded
from tests.casework.seeding import share_with_the_body
from tests.conftest import TEST_PASSWORD, AuthActions, StaffFactory, StaffLogin

ROLES = ("mediator", "respondent", "analyst", "admin")
# Headers that differ between any two responses whatever they answer.
VARYING_HEADERS = {"date", "set-cookie"}
# A plausible body for each form, so that a POST reaches its case lookup and not just
# its validation; the same body is sent for both references.
FORM = {
    "text": "A message",
    "reason": "A reason given for the record",
    "action": "acknowledge",
    "expected_state": "submitted",
    "audience": "complainant",
    "answer": "agree",
    "decision": "approve",
    "categories": "funding_change",
}


@dataclass
class World:
    officer: StaffLogin
    mediator: StaffLogin
    respondent: StaffLogin
    hidden: dict[str, list[str]]  # role -> references of cases it may not see


def build_world(app: Flask, make_staff: StaffFactory) -> World:
    """Cases of two bodies and two mediators, each with an identity request, statements
    approved and not: everything a refusal might let slip that a case exists."""
    officer = make_staff("case_officer")
    mediator = make_staff("mediator")
    other_mediator = make_staff("mediator")
    with app.app_context():
        own_body = make_staff.body("Marsh County Council")
        other_body = make_staff.body("Fen District Council")
        db.session.commit()
    respondent = make_staff("respondent", body_id=own_body)
    make_staff("respondent", body_id=other_body)
    with app.app_context():
        officer_row = db.session.get(StaffUser, officer.id)
        assert officer_row is not None
        officer_key = keyring.unlock(db.session, officer_row, TEST_PASSWORD)
        assert officer_key is not None

        def case_for(body: int, assigned: StaffLogin, *, shared: bool) -> str:
            filed = seeded.file_seeded(body=body)
            user = db.session.get(StaffUser, assigned.id)
            assert user is not None and officer_row is not None and officer_key is not None
            identity_access.assign_mediator(db.session, officer_row, officer_key, filed.case, user)
            identity_access.request_identity(db.session, user, filed.case, "To arrange a session")
            if shared:
                share_with_the_body(filed, officer_row)
            return filed.reference

        case_for(own_body, mediator, shared=True)  # the one they may all see
        elsewhere = case_for(other_body, other_mediator, shared=True)
        not_shared_yet = case_for(own_body, other_mediator, shared=False)
        db.session.commit()
    return World(
        officer,
        mediator,
        respondent,
        {
            "mediator": [elsewhere, not_shared_yet],
            "respondent": [elsewhere, not_shared_yet],
            "analyst": [elsewhere],
            "admin": [elsewhere],
        },
    )


def case_rules(app: Flask, prefix: str = "") -> list[tuple[str, str]]:
    """Every (rule, method) that names a case by its reference."""
    found = []
    for rule in app.url_map.iter_rules():
        if "<reference>" not in rule.rule or not rule.rule.startswith(prefix):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.rule, method))
    return sorted(found)


def permission_of(app: Flask, rule: str) -> Permission:
    endpoint = next(r.endpoint for r in app.url_map.iter_rules() if r.rule == rule)
    permission = getattr(app.view_functions[endpoint], "required_permission", None)
    assert isinstance(permission, Permission), rule
    return permission


def url_for_case(rule: str, reference: str) -> str:
    return re.sub(
        r"<(?:int:)?([a-z_]+)>", lambda m: reference if m[1] == "reference" else "1", rule
    )


def unused_reference(app: Flask) -> str:
    with app.app_context():
        while True:
            reference = complaints.new_reference()
            if complaints.find_case(db.session, reference) is None:
                return reference


def answer(client: FlaskClient, method: str, url: str, **kwargs: Any) -> TestResponse:
    """One request, from a session holding no message left by the one before."""
    with client.session_transaction() as session:
        session.pop("_flashes", None)
    if method == "POST" and "json" not in kwargs:
        kwargs["data"] = FORM
    return client.open(url, method=method, **kwargs)


def session_of(client: FlaskClient) -> dict[str, Any]:
    with client.session_transaction() as session:
        return {k: v for k, v in session.items() if k not in {"_fresh", "_id", "csrf_token"}}


CSRF_VALUE = re.compile(r'(name="csrf_token" (?:type="hidden" )?value=")[^"]*"')


def comparable(text: str, reference: str) -> str:
    """The body with the reference asked about, and the time-stamped CSRF token, taken out."""
    return CSRF_VALUE.sub(r'\1"', text.replace(reference, "REFERENCE"))


def assert_same(
    hidden: TestResponse, missing: TestResponse, references: tuple[str, str], what: str
) -> None:
    assert hidden.status_code == missing.status_code, what
    assert comparable(hidden.text, references[0]) == comparable(missing.text, references[1]), what

    def headers(response: TestResponse, reference: str) -> list[tuple[str, str]]:
        return sorted(
            (name.lower(), value.replace(reference, "REFERENCE"))
            for name, value in response.headers.items()
            if name.lower() not in VARYING_HEADERS
        )

    assert headers(hidden, references[0]) == headers(missing, references[1]), what


@pytest.mark.parametrize("role", ROLES)
def test_a_case_a_staff_role_may_not_see_answers_as_one_that_does_not_exist(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory, role: str
) -> None:
    world = build_world(app, make_staff)
    user = {"mediator": world.mediator, "respondent": world.respondent}.get(role) or make_staff(
        role
    )
    auth.sign_in(user)
    rules = [(rule, method) for rule, method in case_rules(app) if not rule.startswith("/api/")]
    assert len(rules) >= 40  # casework, identity, mediator and respondent pages
    missing_reference = unused_reference(app)
    statuses = set()
    for reference in world.hidden[role]:
        for rule, method in rules:
            what = f"{role} {method} {rule}"
            hidden = answer(client, method, url_for_case(rule, reference))
            hidden_session = session_of(client)
            missing = answer(client, method, url_for_case(rule, missing_reference))
            assert_same(hidden, missing, (reference, missing_reference), what)
            assert hidden_session == session_of(client), what
            if method == "GET":
                # Refused outright: by the role's permissions (the same for any reference)
                # or, for a role that may open some cases, as no such case.
                expected = 404 if allows(role, permission_of(app, rule)) else 403
                assert hidden.status_code == expected, what
            statuses.add(hidden.status_code)
    # Some forms are refused for what they hold before any case is looked for (the same
    # answer for any reference); most reach the look-up and its bare 404.
    assert statuses <= {302, 403, 404}


def test_a_case_the_public_body_may_not_see_answers_through_the_api_as_one_that_does_not_exist(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    world = build_world(app, make_staff)
    with app.app_context():
        user = db.session.get(StaffUser, world.respondent.id)
        assert user is not None
        token = api_tokens.create(db.session, user, "existence test", utcnow())
        db.session.commit()
    rules = case_rules(app, "/api/")
    assert len(rules) >= 6
    missing_reference = unused_reference(app)
    headers = {"Authorization": f"Bearer {token}"}
    for reference in world.hidden["respondent"]:
        for rule, method in rules:
            what = f"API {method} {rule}"
            hidden = answer(client, method, url_for_case(rule, reference), headers=headers, json={})
            missing = answer(
                client, method, url_for_case(rule, missing_reference), headers=headers, json={}
            )
            assert_same(hidden, missing, (reference, missing_reference), what)


def test_a_visible_case_is_answered_so_the_comparison_means_something(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    """The same walk reaches real pages for the cases the roles may see."""
    world = build_world(app, make_staff)
    auth.sign_in(world.mediator)
    with app.app_context():
        mediator = db.session.get(StaffUser, world.mediator.id)
        assert mediator is not None
        visible = [c.reference for c in complaints_of(mediator)]
    assert len(visible) == 1
    for page in ("/mediator/cases/{}", "/identity/cases/{}", "/identity/cases/{}/request"):
        assert client.get(page.format(visible[0])).status_code == 200, page


def complaints_of(mediator: StaffUser) -> list[Any]:
    from sqlalchemy import select

    from mediation.models.cases import Case

    return list(db.session.execute(select(Case).where(Case.mediator_id == mediator.id)).scalars())


def test_a_document_of_another_case_answers_as_one_that_does_not_exist(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    """For a complainant (in the browser and through the API) and for a mediator on their
    own case: a document of another case is answered as a number no document has."""
    from sqlalchemy import func, select

    from mediation.models.cases import Case, CaseDocument
    from mediation.services.intake import attach_document
    from mediation.services.intake_rules import Upload

    world = build_world(app, make_staff)
    with app.app_context():
        own = seeded.file_seeded("anonymous")
        other = seeded.file_seeded("anonymous")
        for filed in (own, other):
            attach_document(
                db.session, filed.case, Upload("minutes.txt", b"minutes"), uploaded_by="complainant"
            )
        db.session.commit()
        foreign = db.session.execute(
            select(CaseDocument.id).where(CaseDocument.case_id == other.case.id)
        ).scalar_one()
        unused = int(db.session.execute(select(func.max(CaseDocument.id))).scalar_one()) + 1000
        credentials = (own.reference, own.passphrase)
        assigned = db.session.execute(
            select(Case.reference).where(Case.mediator_id == world.mediator.id)
        ).scalar_one()
    complainant = app.test_client()
    signed = complainant.post(
        "/my-complaint/sign-in",
        data={"reference": credentials[0], "passphrase": credentials[1]},
    )
    assert signed.status_code == 302
    hidden = complainant.get(f"/my-complaint/documents/{foreign}")
    missing = complainant.get(f"/my-complaint/documents/{unused}")
    assert hidden.status_code == missing.status_code == 404
    assert comparable(hidden.text, "\x00") == comparable(missing.text, "\x00")  # CSRF aside
    session = complainant.post(
        "/api/v1/complainant/sessions",
        json={"reference": credentials[0], "passphrase": credentials[1]},
    )
    assert session.status_code in {200, 201}, session.text
    bearer = {"Authorization": f"Bearer {session.json['token']}"}  # type: ignore[index]
    hidden = complainant.get(f"/api/v1/complainant/documents/{foreign}", headers=bearer)
    missing = complainant.get(f"/api/v1/complainant/documents/{unused}", headers=bearer)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.data == missing.data
    auth.sign_in(world.mediator)
    url = f"/mediator/cases/{assigned}/documents/{{}}"
    hidden = answer(client, "POST", url.format(foreign))
    hidden_session = session_of(client)
    missing = answer(client, "POST", url.format(unused))
    assert hidden.status_code == missing.status_code
    assert hidden.headers.get("Location") == missing.headers.get("Location")
    assert hidden_session == session_of(client)
