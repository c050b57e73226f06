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


def _answer(connection: Any, host: str, path: str = "/sign-in") -> tuple[int, str] | None:
    """The status and Location a request with this Host gets, or None when nginx closes
    the connection without answering (444)."""
    import http.client

    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""
    except (http.client.RemoteDisconnected, ConnectionResetError):
        return None
    finally:
        connection.close()


def test_nginx_answers_only_the_service_s_own_host_name(
    app: Flask, app_config: dict[str, Any], tmp_path: Path
) -> None:
    """Any other Host is closed unanswered (444), so the app never builds an absolute link
    from a name a client made up; plain HTTP only redirects to the service's HTTPS."""
    import http.client

    with served.production(
        app_config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", workers=1, redirect=True
    ) as at:
        assert _answer(at.connection(), f"127.0.0.1:{at.port}") == (200, "")
        assert _answer(at.connection(), "evil.example") is None
        assert _answer(at.connection(), f"evil.example:{at.port}") is None
        assert at.redirect_port is not None
        plain = http.client.HTTPConnection("127.0.0.1", at.redirect_port, timeout=20)
        assert _answer(plain, "127.0.0.1", "/sign-in?next=x") == (
            301,
            f"https://127.0.0.1:{at.port}/sign-in?next=x",
        )
        plain = http.client.HTTPConnection("127.0.0.1", at.redirect_port, timeout=20)
        assert _answer(plain, "evil.example") is None


def test_the_rendered_nginx_file_needs_a_server_name() -> None:
    from deploy.nginx import Site, render

    site = Site("443", Path("/c.pem"), Path("/c.key"), "unix:/s.sock", Path("/st"), "")
    try:
        render(site)
    except ValueError as error:
        assert "SERVER_NAME" in str(error)
    else:
        raise AssertionError("rendered without a server name")
    named = render(Site("443", Path("/c.pem"), Path("/c.key"), "unix:/s", Path("/st"), "a.org"))
    assert "server_name a.org;" in named and "return 444;" in named and "return 301" not in named


def test_the_gunicorn_config_trusts_exactly_nginx_s_one_hop() -> None:
    """deploy/gunicorn.conf.py is only used behind the shipped nginx: TRUSTED_PROXIES=1 is
    set there, not left to an environment variable an operator may forget."""
    import runpy

    from mediation import PROJECT_ROOT

    settings = runpy.run_path(str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py"))
    assert settings["raw_env"] == ["TRUSTED_PROXIES=1"]


def test_gunicorn_refuses_several_workers_without_redis(tmp_path: Path) -> None:
    """Without REDIS_URL each worker would keep its own throttling counters and sign-in
    gates: several workers do not start, and say why."""
    import os
    import subprocess

    from mediation import PROJECT_ROOT

    env = {
        **os.environ,
        "SECRET_KEY": "production-test",
        "MEDIATION_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    env.pop("REDIS_URL", None)
    env.pop("MEDIATION_ALLOW_MEMORY_STORE", None)
    command = served.gunicorn_command(2, f"127.0.0.1:{served.free_port()}")
    finished = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=20
    )
    assert finished.returncode != 0
    assert "2 workers without REDIS_URL" in finished.stderr, finished.stderr
