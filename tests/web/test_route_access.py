"""Every route against every role: allowed (200) or refused (403, or sign-in), nothing else."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mediation.domain.permissions import ALL_ROLES, Permission, allows
from mediation.web.access import PUBLIC
from tests.conftest import AuthActions, StaffFactory, StaffLogin

# Sample values for URL variables, so that every rule can be requested.
SAMPLE_ARGUMENTS = {"page": "1", "action": "deactivate", "token": "not-a-real-token"}


def seed_world(app: Flask, make_staff: StaffFactory, user: StaffLogin) -> dict[str, str]:
    """A case the signed-in user may legitimately open (assigned to them, if a mediator),
    with a pending identity request, so that allowed roles get real pages."""
    from mediation.extensions import db
    from mediation.models.staff import StaffUser
    from mediation.services import identity_access, keyring
    from tests import seeded
    from tests.conftest import TEST_PASSWORD

    officer_login = user if user.role == "case_officer" else make_staff("case_officer")
    mediator_login = user if user.role == "mediator" else make_staff("mediator")
    with app.app_context():
        officer = db.session.get(StaffUser, officer_login.id)
        mediator = db.session.get(StaffUser, mediator_login.id)
        assert officer is not None and mediator is not None
        officer_key = keyring.unlock(db.session, officer, TEST_PASSWORD)
        assert officer_key is not None
        filed = seeded.file_seeded(body=make_staff.body())
        identity_access.assign_mediator(db.session, officer, officer_key, filed.case, mediator)
        request = identity_access.request_identity(
            db.session, mediator, filed.case, "Needed to arrange the joint session"
        )
        # Casework: the public body's staff see the case once a statement is approved.
        from tests.casework.seeding import share_with_the_body

        share_with_the_body(filed, officer)
        db.session.commit()
        return {
            "reference": filed.reference,
            "request_id": str(request.id),
            "mediator_id": str(mediator.id),
        }


def staff_rules(app: Flask) -> list[tuple[str, str, Permission | str]]:
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        permission = getattr(view, "required_permission", None)
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for method in methods:
            rules.append((rule.rule, method, permission))
    return rules


def fill(rule: str, user_id: int, world: dict[str, str] | None = None) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[-1]
        if name == "user_id":
            return str(user_id)
        if world and name in world:
            return world[name]
        return SAMPLE_ARGUMENTS.get(name, "1")

    return re.sub(r"<([^>]+)>", value, rule)


def test_every_view_declares_who_may_use_it(app: Flask) -> None:
    undeclared = [rule for rule, _, permission in staff_rules(app) if permission is None]
    assert undeclared == []


@pytest.mark.parametrize("role", sorted(ALL_ROLES))
def test_every_staff_route_is_allowed_or_refused_for_each_role(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory, role: str
) -> None:
    user = make_staff(role)
    other = make_staff("analyst")
    world = seed_world(app, make_staff, user)
    auth.sign_in(user)
    for rule, method, permission in staff_rules(app):
        if permission == PUBLIC:
            continue
        assert isinstance(permission, Permission)
        url = fill(rule, other.id, world)
        response = client.open(url, method=method)
        if allows(role, permission):
            answered = {200, 302}
            if rule.endswith(("/offer", "/declaration")) and rule.startswith("/mediator/"):
                # The case is assigned to this mediator, but no offer of it waits for
                # them: the same bare 404 as for a case never offered to them.
                answered = {404}
            assert response.status_code in answered, (role, method, url, response.status_code)
            if method == "GET":
                assert response.status_code == 200, (role, url)
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)
            assert "You do not have access" in response.text


def test_signed_out_visitors_are_sent_to_sign_in_from_every_staff_route(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    other = make_staff("analyst")
    for rule, method, permission in staff_rules(app):
        if permission == PUBLIC:
            continue
        response = client.open(fill(rule, other.id), method=method)
        assert response.status_code == 302, rule
        assert "/sign-in" in response.headers["Location"]


def test_public_pages_open_to_everyone(app: Flask, client: FlaskClient) -> None:
    for path in ("/", "/privacy", "/accessibility", "/sign-in", "/healthz"):
        assert client.get(path).status_code == 200, path


def test_admin_holds_no_permission_that_opens_a_case() -> None:
    for permission in (
        Permission.READ_CASE_CONTENT,
        Permission.TRIAGE_CASES,
        Permission.APPROVE_IDENTITY_ACCESS,
        Permission.REQUEST_IDENTITY_ACCESS,
        Permission.WORK_ASSIGNED_CASES,
        Permission.HOLD_VAULT_CUSTODY,
    ):
        assert not allows("admin", permission)


def test_analyst_cannot_reach_any_case() -> None:
    for permission in (
        Permission.READ_CASE_CONTENT,
        Permission.VIEW_CASE_QUEUE,
        Permission.WORK_ASSIGNED_CASES,
        Permission.RESPOND_FOR_BODY,
    ):
        assert not allows("analyst", permission)
