"""Staff sign-in: password, authenticator codes, replay refusal, throttling, demo mode."""

from __future__ import annotations

import json
import random
import re
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions, StaffFactory, current_code, user_row


def test_staff_sign_in_needs_password_then_code(
    client: FlaskClient, make_staff: StaffFactory
) -> None:
    user = make_staff("case_officer")
    response = client.post("/sign-in", data={"email": user.email, "password": user.password})
    assert response.headers["Location"].endswith("/sign-in/code")
    # Not signed in yet: the second factor is still owed.
    assert client.get("/casework/").status_code == 302
    response = client.post("/sign-in/code", data={"code": current_code(user.totp_secret)})
    assert response.headers["Location"].endswith("/casework/")
    assert client.get("/casework/").status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: FlaskClient, make_staff: StaffFactory
) -> None:
    user = make_staff("analyst")
    wrong = client.post("/sign-in", data={"email": user.email, "password": "not the password"})
    unknown = client.post(
        "/sign-in", data={"email": "nobody@example.org", "password": "not the password"}
    )
    assert wrong.status_code == unknown.status_code == 200
    assert "Enter a correct email address and password" in wrong.text
    assert "Enter a correct email address and password" in unknown.text


def test_a_used_code_cannot_be_replayed(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    user = make_staff("analyst")
    code = current_code(user.totp_secret)
    auth.sign_in(user, code=code)
    auth.sign_out()
    client.post("/sign-in", data={"email": user.email, "password": user.password})
    response = client.post("/sign-in/code", data={"code": code})
    assert response.status_code == 200
    assert "already been used" in response.text
    assert client.get("/analyst/").status_code == 302


def test_wrong_code_is_refused_with_a_message(
    client: FlaskClient, make_staff: StaffFactory
) -> None:
    user = make_staff("analyst")
    client.post("/sign-in", data={"email": user.email, "password": user.password})
    response = client.post("/sign-in/code", data={"code": "000000x"})
    assert "Enter the 6-digit code" in response.text


SETUP_KEY = re.compile(r'<code class="secret">([A-Z2-7]+)</code>')


def _without_authenticator(app: Flask, user_id: int) -> None:
    from mediation.extensions import db
    from mediation.models.staff import StaffUser

    with app.app_context():
        row = db.session.get(StaffUser, user_id)
        assert row is not None
        row.totp_secret = None
        db.session.commit()


def _offered_key(client: FlaskClient) -> str:
    page = client.get("/sign-in/set-up-authenticator")
    assert page.status_code == 200
    found = SETUP_KEY.search(page.text)
    assert found is not None
    return found.group(1)


def _session_cookie(app: Flask, client: FlaskClient) -> str:
    """The session cookie's contents as the browser holds them, decoded (signed, not
    encrypted: whoever has a copy can read them)."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return json.dumps(serializer.loads(cookie.value))


def test_new_user_enrols_an_authenticator_before_signing_in(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    import pyotp

    from mediation.extensions import db
    from mediation.models.staff import StaffUser

    user = make_staff("mediator")
    _without_authenticator(app, user.id)
    response = client.post("/sign-in", data={"email": user.email, "password": user.password})
    assert response.headers["Location"].endswith("/sign-in/set-up-authenticator")
    secret = _offered_key(client)
    response = client.post("/sign-in/set-up-authenticator", data={"code": pyotp.TOTP(secret).now()})
    assert response.headers["Location"].endswith("/mediator/")
    row = user_row(app, user.id)
    assert row.totp_secret is not None and secret not in row.totp_secret  # sealed
    assert row.totp_pending_secret is None  # the set-up is over
    with app.app_context():
        from mediation.services import accounts, keyring

        row = db.session.get(StaffUser, user.id)
        assert row is not None
        keypair = keyring.unlock(db.session, row, user.password)
        assert accounts.totp_secret_of(row, keypair) == secret
        assert accounts.totp_secret_of(row, None) is None


def test_the_new_authenticator_key_never_rides_in_the_session_cookie(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    """The cookie is signed but readable: a copy taken during set-up must not hold the
    second factor. The key waits in the database, sealed to the user's own key."""
    import pyotp

    user = make_staff("analyst")
    _without_authenticator(app, user.id)
    client.post("/sign-in", data={"email": user.email, "password": user.password})
    secret = _offered_key(client)
    assert secret not in _session_cookie(app, client)
    stored = user_row(app, user.id).totp_pending_secret
    assert stored is not None and stored.startswith("sealed:") and secret not in stored
    wrong = client.post("/sign-in/set-up-authenticator", data={"code": "000000"})
    assert "code" in wrong.text and secret in wrong.text  # the same key, offered again
    assert secret not in _session_cookie(app, client)
    client.post("/sign-in/set-up-authenticator", data={"code": pyotp.TOTP(secret).now()})
    assert client.get("/analyst/").status_code == 200
    assert secret not in _session_cookie(app, client)


def test_an_interrupted_set_up_offers_the_same_key_at_the_next_sign_in(
    app: Flask, make_staff: StaffFactory
) -> None:
    """Someone who scanned the key, then lost their sign-in before typing a code, finds
    the key their app already holds, not a new one their app does not know."""
    import pyotp

    user = make_staff("analyst")
    _without_authenticator(app, user.id)
    first = app.test_client()
    first.post("/sign-in", data={"email": user.email, "password": user.password})
    secret = _offered_key(first)
    assert _offered_key(first) == secret  # a reload too
    second = app.test_client()
    second.post("/sign-in", data={"email": user.email, "password": user.password})
    assert _offered_key(second) == secret
    response = second.post("/sign-in/set-up-authenticator", data={"code": pyotp.TOTP(secret).now()})
    assert response.headers["Location"].endswith("/analyst/")


def test_set_up_without_a_held_key_is_sent_back_to_sign_in(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    user = make_staff("analyst")
    _without_authenticator(app, user.id)
    client.post("/sign-in", data={"email": user.email, "password": user.password})
    with client.session_transaction() as session:
        session.pop("custody")  # as when the key's custody has lapsed
    response = client.get("/sign-in/set-up-authenticator", follow_redirects=True)
    assert response.request.path == "/sign-in"
    assert "Your sign-in expired" in response.text
    # Signing in again unlocks the key, and the set-up goes on from there.
    client.post("/sign-in", data={"email": user.email, "password": user.password})
    assert _offered_key(client)
    assert user_row(app, user.id).totp_pending_secret is not None


def test_sign_in_is_throttled_per_client(throttled_app: Flask) -> None:
    user = StaffFactory(throttled_app)("analyst")
    client = throttled_app.test_client()
    statuses = [
        client.post("/sign-in", data={"email": user.email, "password": "wrong guess"}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429
    page = client.post("/sign-in", data={"email": user.email, "password": user.password})
    assert page.status_code == 429
    assert "Too many attempts" in page.text
    # Another client is not blocked by this one's guesses at a different account.
    other = throttled_app.test_client()
    response = other.post(
        "/sign-in",
        data={"email": "someone@example.org", "password": "x"},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert response.status_code == 200


def test_sign_in_is_throttled_per_account_across_clients(throttled_app: Flask) -> None:
    user = StaffFactory(throttled_app)("analyst")
    statuses = []
    for attempt in range(11):
        client = throttled_app.test_client()
        statuses.append(
            client.post(
                "/sign-in",
                data={"email": user.email.upper(), "password": "wrong"},
                environ_base={"REMOTE_ADDR": f"10.0.0.{attempt + 1}"},
            ).status_code
        )
    assert statuses[:10] == [200] * 10
    assert statuses[-1] == 429


def test_demo_accounts_skip_the_code_only_in_demo_mode(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    user = make_staff("analyst", is_demo=True)
    response = client.post("/sign-in", data={"email": user.email, "password": user.password})
    assert response.headers["Location"].endswith("/sign-in/code")
    app.config["DEMO_MODE"] = True
    other = app.test_client()
    response = other.post("/sign-in", data={"email": user.email, "password": user.password})
    assert response.headers["Location"].endswith("/analyst/")
    # A real (non-demo) account still needs its code in demo mode.
    real = make_staff("analyst")
    response = app.test_client().post(
        "/sign-in", data={"email": real.email, "password": real.password}
    )
    assert response.headers["Location"].endswith("/sign-in/code")


def test_deactivation_ends_existing_sessions(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    admin = make_staff("admin")
    analyst = make_staff("analyst")
    auth.sign_in(analyst)
    assert client.get("/analyst/").status_code == 200
    admin_client = app.test_client()
    AuthActions(admin_client).sign_in(admin)
    admin_client.post(f"/admin/users/{analyst.id}/deactivate")
    assert client.get("/analyst/").status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example.org/",
        "/\t/evil.example.org",  # browsers drop the tab: //evil.example.org
        "/\n/evil.example.org",
        "/\\evil.example.org",  # a backslash is read as a slash
        "/\\/evil.example.org",
        "https://evil.example.org/",
        "/\x7f/evil.example.org",
    ],
)
def test_next_parameter_only_redirects_within_the_site(
    app: Flask, make_staff: StaffFactory, target: str
) -> None:
    user = make_staff("analyst")
    client = app.test_client()
    client.post(
        "/sign-in?" + urlencode({"next": target}),
        data={"email": user.email, "password": user.password},
    )
    response = client.post("/sign-in/code", data={"code": current_code(user.totp_secret)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/analyst/")


def test_a_next_within_the_site_is_where_sign_in_ends(
    client: FlaskClient, make_staff: StaffFactory
) -> None:
    user = make_staff("analyst")
    client.post(
        "/sign-in?" + urlencode({"next": "/analyst/?tab=2"}),
        data={"email": user.email, "password": user.password},
    )
    response = client.post("/sign-in/code", data={"code": current_code(user.totp_secret)})
    assert response.headers["Location"].endswith("/analyst/?tab=2")


def test_a_next_too_long_for_the_session_cookie_is_dropped_and_sign_in_still_works(
    client: FlaskClient, make_staff: StaffFactory
) -> None:
    """`next` rides in the session cookie between the password and the code: one long
    enough to push the cookie past what a browser keeps would sign the user out."""
    user = make_staff("analyst")
    rng = random.Random(3)  # text that does not compress
    long_next = "/analyst/?" + "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(1500))
    first = client.post(
        "/sign-in?" + urlencode({"next": long_next}),
        data={"email": user.email, "password": user.password},
    )
    assert first.status_code == 302
    assert all(len(v) < 4000 for k, v in first.headers.items() if k == "Set-Cookie")
    response = client.post("/sign-in/code", data={"code": current_code(user.totp_secret)})
    assert response.headers["Location"].endswith("/analyst/")


def test_an_authenticator_secret_kept_in_the_clear_still_works_and_is_then_sealed(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    from mediation.extensions import db
    from mediation.models.staff import StaffUser

    user = make_staff("analyst")
    with app.app_context():
        row = db.session.get(StaffUser, user.id)
        assert row is not None
        row.totp_secret = user.totp_secret  # as stored before secrets were sealed
        db.session.commit()
    client.post("/sign-in", data={"email": user.email, "password": user.password})
    response = client.post("/sign-in/code", data={"code": current_code(user.totp_secret)})
    assert response.headers["Location"].endswith("/analyst/")
    stored = user_row(app, user.id).totp_secret
    assert stored is not None and stored.startswith("sealed:")
    assert user.totp_secret not in stored


def test_a_sealed_secret_needs_the_key_the_password_unlocked(
    app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    """Without the key held since the password step (its custody row gone), no code works."""
    from sqlalchemy import delete

    from mediation.extensions import db
    from mediation.models.vault import KeyCustody

    user = make_staff("analyst")
    client.post("/sign-in", data={"email": user.email, "password": user.password})
    with app.app_context():
        db.session.execute(delete(KeyCustody).where(KeyCustody.user_id == user.id))
        db.session.commit()
    response = client.post("/sign-in/code", data={"code": current_code(user.totp_secret)})
    assert response.status_code == 200
    assert "/analyst/" not in response.headers.get("Location", "")


def test_a_new_key_pair_drops_a_secret_sealed_to_the_old_one(
    app: Flask, make_staff: StaffFactory
) -> None:
    """It could no longer be opened: the user sets up their authenticator again."""
    from mediation.extensions import db
    from mediation.models.staff import StaffUser
    from mediation.services import keyring

    user = make_staff("analyst")
    with app.app_context():
        row = db.session.get(StaffUser, user.id)
        assert row is not None and (row.totp_secret or "").startswith("sealed:")
        keyring.create_staff_key(db.session, row, "another long password for the key")
        db.session.commit()
    assert user_row(app, user.id).totp_secret is None


def test_a_reset_stops_the_old_password_and_drops_a_set_up_begun_with_it(
    app: Flask, make_staff: StaffFactory
) -> None:
    """Someone holding the old password cannot use a reset (which removes the
    authenticator) to set up their own; nor can a key they were offered before it become
    the user's second factor after the user sets a new password with their recovery key."""
    from mediation.extensions import db
    from mediation.models.staff import StaffUser
    from mediation.services import accounts
    from mediation.services.audit import Actor

    user = make_staff("analyst")
    _without_authenticator(app, user.id)
    intruder = app.test_client()
    intruder.post("/sign-in", data={"email": user.email, "password": user.password})
    planted = _offered_key(intruder)
    with app.app_context():
        token = accounts.reset_access(db.session, Actor.system("admin"), user.id)
        db.session.commit()
    refused = app.test_client().post(
        "/sign-in", data={"email": user.email, "password": user.password}
    )
    assert refused.status_code == 200 and "Enter a correct email address" in refused.text
    # The offered key is dropped by the reset, and again by the set-up link, whatever
    # was begun in between (as when the pending key was sealed just before the link).
    with app.app_context():
        row = db.session.get(StaffUser, user.id)
        assert row is not None and row.totp_pending_secret is None
        row.totp_pending_secret = "sealed:left-from-before"
        db.session.commit()
        recovery = accounts.complete_setup(db.session, token, "a brand new long password")[1]
        db.session.commit()
        assert recovery
    assert user_row(app, user.id).totp_pending_secret is None
    owner = app.test_client()
    owner.post("/sign-in", data={"email": user.email, "password": "a brand new long password"})
    assert _offered_key(owner) != planted


def test_a_key_offered_more_than_a_day_ago_is_not_offered_again(
    app: Flask, make_staff: StaffFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from mediation.models.time import utcnow
    from mediation.services import accounts

    user = make_staff("analyst")
    _without_authenticator(app, user.id)
    first = app.test_client()
    first.post("/sign-in", data={"email": user.email, "password": user.password})
    old = _offered_key(first)
    later = utcnow() + accounts.PENDING_SET_UP_LIFETIME + timedelta(minutes=1)
    monkeypatch.setattr(accounts, "utcnow", lambda: later)
    monkeypatch.setattr("mediation.web.auth.routes.utcnow", lambda: later)
    second = app.test_client()
    second.post("/sign-in", data={"email": user.email, "password": user.password})
    assert _offered_key(second) != old


def test_a_new_set_up_link_ends_every_earlier_one(app: Flask, make_staff: StaffFactory) -> None:
    """A reset is often made because a link went astray: the stray link must not work
    afterwards, neither before the new one is used nor after."""
    from mediation.extensions import db
    from mediation.services import accounts
    from mediation.services.audit import Actor
    from mediation.services.errors import ServiceError

    user = make_staff("analyst")
    with app.app_context():
        stray = accounts.reset_access(db.session, Actor.system("admin"), user.id)
        db.session.commit()
        fresh = accounts.reset_access(db.session, Actor.system("admin"), user.id)
        db.session.commit()
        with pytest.raises(ServiceError):
            accounts.redeem_setup_token(db.session, stray)
        accounts.complete_setup(db.session, fresh, "a brand new long password")
        db.session.commit()
        for used in (stray, fresh):
            with pytest.raises(ServiceError):
                accounts.redeem_setup_token(db.session, used)
    assert app.test_client().get(f"/set-up/{stray}").status_code == 404


def test_deactivating_or_resetting_a_user_drops_their_held_key(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    from sqlalchemy import func, select

    from mediation.extensions import db
    from mediation.models.vault import KeyCustody
    from mediation.services import accounts
    from mediation.services.audit import Actor

    def held(user_id: int) -> int:
        with app.app_context():
            query = select(func.count()).select_from(KeyCustody)
            return db.session.execute(query.where(KeyCustody.user_id == user_id)).scalar_one()

    for change in ("deactivate", "reset"):
        user = make_staff("case_officer")
        auth.sign_in(user)
        assert held(user.id) == 1
        with app.app_context():
            if change == "deactivate":
                accounts.set_active(db.session, Actor.system("admin"), user.id, active=False)
            else:
                accounts.reset_access(db.session, Actor.system("admin"), user.id)
            db.session.commit()
        assert held(user.id) == 0
        auth.sign_out()


def test_a_copy_of_the_session_cookie_opens_nothing_after_sign_out(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    """Flask's session cookie is only signed: without a server-side session, a copy taken
    before signing out would still be signed in (an admin's for ever, refreshed by use)."""
    user = make_staff("admin")
    auth.sign_in(user)
    assert client.get("/admin/users").status_code == 200
    copied = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert copied is not None
    auth.sign_out()
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], copied.value)
    response = thief.get("/admin/users")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_a_staff_session_ends_after_twelve_hours_however_active(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    make_staff: StaffFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from mediation.models.time import utcnow
    from mediation.services import staff_sessions

    user = make_staff("analyst")
    auth.sign_in(user)
    started = utcnow()
    for hours in (3, 6, 9, 11.9):  # a request every few hours keeps the cookie fresh
        later = started + timedelta(hours=hours)
        monkeypatch.setattr("mediation.web.utcnow", lambda later=later: later)
        assert client.get("/analyst/").status_code == 200
    later = started + staff_sessions.SESSION_CAP + timedelta(minutes=1)
    monkeypatch.setattr("mediation.web.utcnow", lambda: later)
    assert client.get("/analyst/").status_code == 302


def test_every_session_of_a_deactivated_user_is_deleted(
    app: Flask, make_staff: StaffFactory
) -> None:
    from sqlalchemy import func, select, update

    from mediation.extensions import db
    from mediation.models.staff import StaffSession, StaffUser
    from mediation.services import accounts
    from mediation.services.audit import Actor

    user = make_staff("analyst")
    for _ in range(2):  # two browsers, within one authenticator code's 30 seconds
        with app.app_context():
            db.session.execute(
                update(StaffUser).where(StaffUser.id == user.id).values(totp_last_counter=None)
            )
            db.session.commit()
        AuthActions(app.test_client()).sign_in(user)
    with app.app_context():
        count = select(func.count()).select_from(StaffSession)
        assert db.session.execute(count.where(StaffSession.user_id == user.id)).scalar_one() == 2
        accounts.set_active(db.session, Actor.system("admin"), user.id, active=False)
        db.session.commit()
        assert db.session.execute(count.where(StaffSession.user_id == user.id)).scalar_one() == 0


def test_two_windows_setting_up_at_once_are_offered_the_same_key(
    app: Flask, make_staff: StaffFactory
) -> None:
    """The second window to ask must not overwrite the key the first is showing."""
    from sqlalchemy.orm import Session

    from mediation.extensions import db
    from mediation.models.staff import StaffUser
    from mediation.services import accounts, keyring

    user = make_staff("analyst")
    _without_authenticator(app, user.id)
    with app.app_context():
        first, second = Session(db.engine), Session(db.engine)
        try:
            mine = first.get(StaffUser, user.id)  # read while nothing was offered yet
            assert mine is not None and mine.totp_pending_secret is None
            key = keyring.unlock(first, mine, user.password)
            assert key is not None
            theirs = second.get(StaffUser, user.id)
            assert theirs is not None
            offered = accounts.pending_totp_secret(second, theirs, key)
            second.commit()
            assert accounts.pending_totp_secret(first, mine, key) == offered
            first.commit()
        finally:
            first.close()
            second.close()
    with app.app_context():
        row = user_row(app, user.id)
        assert row.totp_pending_secret is not None
