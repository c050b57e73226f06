"""Production mode: no per-process state, so any instance or worker serves any session."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask

from mediation import create_app
from mediation.extensions import db
from tests import served
from tests.conftest import StaffFactory, current_code


def test_two_app_instances_share_one_session(
    app: Flask, app_config: dict[str, Any], make_staff: StaffFactory
) -> None:
    user = make_staff("case_officer")
    second = create_app(dict(app_config))
    first_client = app.test_client()
    first_client.post("/sign-in", data={"email": user.email, "password": user.password})
    first_client.post("/sign-in/code", data={"code": current_code(user.totp_secret)})
    cookie = first_client.get_cookie("cm_session")
    assert cookie is not None
    second_client = second.test_client()
    second_client.set_cookie("cm_session", cookie.value, domain="localhost")
    assert second_client.get("/casework/").status_code == 200
    # The key held for this session opens on the other instance too.
    with second.test_request_context():
        from flask import session

        from mediation.models.staff import StaffUser
        from mediation.services.keyring import CustodyTicket, held_keypair

        serializer = second.session_interface.get_signing_serializer(second)  # type: ignore[attr-defined]
        data = serializer.loads(cookie.value)
        session.update(data)
        staff = db.session.get(StaffUser, user.id)
        assert staff is not None
        keypair = held_keypair(db.session, staff, CustodyTicket.from_session(data["custody"]))
        assert keypair.key_id
    with second.app_context():
        db.engine.dispose()


def free_port() -> int:
    return served.free_port()


class Browser:
    """Just enough of a browser for HTTPS through the proxy: keeps the session cookie by hand."""

    def __init__(self, at: served.Served) -> None:
        self.at = at
        self.cookie = ""

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> Any:
        from urllib.parse import urlencode

        connection = self.at.connection()
        headers = {"Cookie": self.cookie} if self.cookie else {}
        headers.update(extra or {})
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.startswith("cm_session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, dict(response.getheaders()), text

    def csrf(self, path: str) -> str:
        _, _, page = self.request("GET", path)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', page
        )
        assert match, page
        return match.group(1)


def test_gunicorn_with_several_workers_behind_nginx_serves_one_session(
    app: Flask, app_config: dict[str, Any], make_staff: StaffFactory, tmp_path: Path
) -> None:
    """The README's production set-up: gunicorn's workers on a unix socket, nginx with
    deploy/nginx.conf in front (TLS, buffering), TRUSTED_PROXIES=1."""
    user = make_staff("case_officer")
    with served.production(
        app_config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", workers=3
    ) as at:
        browser = Browser(at)
        status, headers, _ = browser.request("GET", "/sign-in")
        # The app sees the proxy's X-Forwarded-Proto: HTTPS, so HSTS is sent.
        assert status == 200 and "max-age" in headers["Strict-Transport-Security"]
        token = browser.csrf("/sign-in")
        status, headers, _ = browser.request(
            "POST",
            "/sign-in",
            {"csrf_token": token, "email": user.email, "password": user.password},
        )
        assert status == 302 and headers["Location"].endswith("/sign-in/code")
        token = browser.csrf("/sign-in/code")
        status, headers, _ = browser.request(
            "POST", "/sign-in/code", {"csrf_token": token, "code": current_code(user.totp_secret)}
        )
        assert status == 302 and headers["Location"].endswith("/casework/")
        # Many requests, spread over the workers, all see the same signed-in session.
        for _ in range(12):
            status, _, page = browser.request("GET", "/casework/")
            assert status == 200 and "Case queue" in page
        # A body over the app's MAX_CONTENT_LENGTH is refused by nginx before gunicorn.
        too_big = at.connection()
        try:
            too_big.putrequest("POST", "/sign-in")
            too_big.putheader("Content-Length", str(20 * 1024 * 1024 + 1))
            too_big.putheader("Content-Type", "application/x-www-form-urlencoded")
            too_big.endheaders()
            response = too_big.getresponse()
            response.read()
            assert response.status == 413
        finally:
            too_big.close()


def test_the_app_behind_nginx_sees_the_address_nginx_saw_not_a_forged_one(
    app: Flask, app_config: dict[str, Any], tmp_path: Path
) -> None:
    """nginx replaces the X-Forwarded-For a client sends with the address it saw, so with
    TRUSTED_PROXIES=1 a failed complainant sign-in counts against the real client (a keyed
    hash of 127.0.0.1 here, on its gates in the shared Redis), not against whatever address
    the client claimed."""
    from mediation.services.complainant_sessions import throttle_keys
    from mediation.services.complaints import new_reference
    from mediation.shared_store import store

    reference = new_reference()  # its own: gates of an earlier run stay in Redis an hour
    with served.production(
        app_config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", workers=1
    ) as at:
        browser = Browser(at)
        token = browser.csrf("/my-complaint/sign-in")
        status, _, _ = browser.request(
            "POST",
            "/my-complaint/sign-in",
            {"csrf_token": token, "reference": reference, "passphrase": "not the right words"},
            extra={"X-Forwarded-For": "203.0.113.9"},
        )
        assert status < 500
    same_store = create_app(
        {**app_config, "SECRET_KEY": served.SECRET_KEY, "RATELIMIT_STORAGE_URI": served.REDIS_URL}
    )
    with same_store.app_context():
        counted = set(store().gate_names())
        real = throttle_keys(reference, "127.0.0.1")
        forged = throttle_keys(reference, "203.0.113.9")
        db.session.remove()
        db.engine.dispose()
    assert set(real) <= counted
    assert not set(forged) & counted


def test_each_sqlite_connection_keeps_the_larger_page_cache(app: Flask) -> None:
    """The queue's working set fits in memory only with `SQLITE_CACHE_KIB` (SQLite's own
    default is 2 MiB); PostgreSQL has no such setting here."""
    from sqlalchemy import text

    from mediation import SQLITE_CACHE_KIB

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return
        with db.engine.connect() as connection:
            cache = connection.execute(text("PRAGMA cache_size")).scalar_one()
    assert cache == -SQLITE_CACHE_KIB
