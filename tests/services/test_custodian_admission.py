"""Custodians are admitted, not created: whoever manages accounts (the admin, the server's
operator) cannot give themselves access to complaints by creating a case officer."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.staff import StaffUser
from mediation.models.statistics import StatisticsKeyGrant
from mediation.services import accounts, case_keys, complaints, keyring, statistical_records
from mediation.services.audit import Actor
from mediation.services.case_keys import NotAHolder
from mediation.services.vault_admin import reseal_for_user, users_missing_keys
from tests import seeded
from tests.conftest import TEST_PASSWORD, AuthActions, StaffFactory, case_officer_set_up_by_link


def file_one() -> complaints.Filed:
    filed = seeded.file_seeded()
    db.session.commit()
    return filed


def test_a_case_officer_set_up_by_link_holds_no_case_until_a_custodian_admits_them(
    app: Flask, make_staff: StaffFactory
) -> None:
    custodian_login = make_staff("case_officer")
    with app.app_context():
        rogue = case_officer_set_up_by_link("rogue@staff.example.org", "Rogue")
        rogue_key = keyring.unlock(db.session, rogue, TEST_PASSWORD)
        assert rogue_key is not None
        assert [user.id for user, _ in case_keys.custodians(db.session)] == [custodian_login.id]

        filed = file_one()
        with pytest.raises(NotAHolder):
            case_keys.open_grant(filed.case, case_keys.IDENTITY_KEY, rogue_key)
        with pytest.raises(NotAHolder):
            case_keys.open_grant(filed.case, case_keys.CASE_KEY, rogue_key)
        waiting = {item.user.id: item for item in users_missing_keys(db.session)}
        assert waiting[rogue.id].admitted is False

        # A custodian who knows the colleague admits them: existing and new cases open.
        custodian = db.session.get(StaffUser, custodian_login.id)
        assert custodian is not None
        custodian_key = keyring.unlock(db.session, custodian, TEST_PASSWORD)
        assert custodian_key is not None
        statistical_records.current_statistics_key(db.session)
        reseal_for_user(db.session, custodian, custodian_key, rogue)
        db.session.commit()
        case_keys.open_grant(filed.case, case_keys.IDENTITY_KEY, rogue_key)
        later = file_one()
        case_keys.open_grant(later.case, case_keys.IDENTITY_KEY, rogue_key)
        assert rogue.id not in {item.user.id for item in users_missing_keys(db.session)}
        granted = db.session.execute(
            select(StatisticsKeyGrant.holder_key_id).where(
                StatisticsKeyGrant.holder_key_id == rogue_key.key_id
            )
        ).first()
        assert granted is not None
        admitted = db.session.execute(
            select(AuditEntry).where(AuditEntry.action == "vault.custodian_admitted")
        ).scalar_one()
        assert admitted.actor_id == custodian.id


def test_a_reset_without_the_recovery_key_needs_admitting_again(
    app: Flask, make_staff: StaffFactory
) -> None:
    first, second = make_staff("case_officer"), make_staff("case_officer")
    with app.app_context():
        token = accounts.reset_access(db.session, Actor.system("admin"), second.id)
        db.session.commit()
        accounts.complete_setup(db.session, token, "a brand new long password")
        db.session.commit()
        assert [user.id for user, _ in case_keys.custodians(db.session)] == [first.id]


def test_the_admin_cannot_add_staff_of_a_public_body(
    client: FlaskClient, auth: AuthActions, make_staff: StaffFactory, app: Flask
) -> None:
    admin = make_staff("admin")
    auth.sign_in(admin)
    page = client.get("/admin/users/new")
    assert page.status_code == 200
    assert b'value="respondent"' not in page.data
    answer = client.post(
        "/admin/users/new",
        data={
            "name": "Body person",
            "email": "body@example.org",
            "role": "respondent",
        },
    )
    assert answer.status_code == 200 and b"Error:" in answer.data
    with app.app_context():
        made = db.session.execute(
            select(StaffUser).where(StaffUser.email == "body@example.org")
        ).first()
        assert made is None


def test_the_admin_never_sees_a_set_up_link_for_a_public_bodys_user(
    client: FlaskClient, auth: AuthActions, make_staff: StaffFactory, app: Flask
) -> None:
    admin = make_staff("admin")
    respondent = make_staff("respondent")
    auth.sign_in(admin)
    answer = client.post(f"/admin/users/{respondent.id}/reset", follow_redirects=True)
    assert answer.status_code == 200
    assert b"/set-up/" not in answer.data
    assert b"email is not working" in answer.data  # no mail server in tests: nothing changed
    with app.app_context():
        user = db.session.get(StaffUser, respondent.id)
        assert user is not None and user.totp_secret is not None


def test_an_officer_nobody_admitted_cannot_be_one_of_two_approvals(
    app: Flask, make_staff: StaffFactory
) -> None:
    """An admin can make a case officer account; before a custodian admits it, its
    approval of an identity request must not count, or an admin plus one real officer
    would disclose who complained."""
    from mediation.services import identity_access, settings
    from mediation.services.errors import NotAllowed

    custodian_login, mediator_login = make_staff("case_officer"), make_staff("mediator")
    with app.app_context():
        settings.change_setting(db.session, Actor.system("test"), "identity_approvals_required", 2)
        rogue = case_officer_set_up_by_link("rogue@staff.example.org", "Rogue")
        rogue_key = keyring.unlock(db.session, rogue, TEST_PASSWORD)
        custodian = db.session.get(StaffUser, custodian_login.id)
        mediator = db.session.get(StaffUser, mediator_login.id)
        assert rogue_key is not None and custodian is not None and mediator is not None
        custodian_key = keyring.unlock(db.session, custodian, TEST_PASSWORD)
        assert custodian_key is not None
        case = file_one().case
        identity_access.assign_mediator(db.session, custodian, custodian_key, case, mediator)
        request = identity_access.request_identity(
            db.session, mediator, case, "Need the contact's name for the session"
        )
        db.session.commit()
        for approve in (True, False):
            with pytest.raises(NotAllowed, match="holds this case's keys"):
                identity_access.decide_identity_request(
                    db.session,
                    rogue,
                    rogue_key,
                    request.id,
                    approve=approve,
                    reason="Looks fine to me as an officer",
                )
            db.session.rollback()
        identity_access.decide_identity_request(
            db.session,
            custodian,
            custodian_key,
            request.id,
            approve=True,
            reason="Approved after review of the need",
        )
        db.session.commit()
        db.session.refresh(request)
        assert request.status == "pending"  # one of two: nothing disclosed
        with pytest.raises(NotAHolder):
            case_keys.open_grant(
                case, case_keys.IDENTITY_KEY, keyring.unlock(db.session, mediator, TEST_PASSWORD)
            )  # type: ignore[arg-type]
