"""Security headers, cookies and error pages on every page."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions, StaffFactory

PROJECT = Path(__file__).resolve().parents[2]


def pages(app: Flask) -> list[str]:
    return [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set()) and "<" not in rule.rule
    ]


def assert_secure_headers(response, https: bool = False) -> None:  # type: ignore[no-untyped-def]
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if https:
        assert "max-age=" in response.headers["Strict-Transport-Security"]
    else:
        assert "Strict-Transport-Security" not in response.headers


def test_every_page_sends_the_security_headers(
    app: Flask, client: FlaskClient, auth: AuthActions, make_staff: StaffFactory
) -> None:
    for path in pages(app):
        assert_secure_headers(client.get(path))
    auth.sign_in(make_staff("admin"))
    for path in pages(app):
        assert_secure_headers(client.get(path))
    assert_secure_headers(client.get("/no-such-page"))


def test_hsts_is_sent_over_https(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/", base_url="https://localhost")
    assert_secure_headers(response, https=True)


def test_session_cookie_is_secure_httponly_and_strict(
    client: FlaskClient, make_staff: StaffFactory
) -> None:
    user = make_staff("analyst")
    response = client.post("/sign-in", data={"email": user.email, "password": user.password})
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_templates_have_no_inline_script_or_style() -> None:
    for template in (PROJECT / "templates").rglob("*.html"):
        source = template.read_text(encoding="utf-8").lower()
        assert "<script" not in source, template
        assert "<style" not in source, template
        assert " style=" not in source, template
        assert "http://" not in source and "https://" not in source, template


def test_friendly_error_pages_reveal_nothing_internal(app: Flask, client: FlaskClient) -> None:
    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret internal detail")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert client.get("/missing").status_code == 404
    assert client.delete("/").status_code == 405


def test_oversized_request_gets_a_page_stating_the_limit(app: Flask, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = client.post("/sign-in", data={"email": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "1 MB" in response.text


def test_csrf_is_required_on_forms(app: Flask, make_staff: StaffFactory) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_staff("analyst")
    client = app.test_client()
    response = client.post("/sign-in", data={"email": user.email, "password": user.password})
    assert response.status_code == 400
    assert "The form expired" in response.text


def test_static_assets_are_served_locally(client: FlaskClient) -> None:
    home = client.get("/").text
    assert "/static/css/main.css" in home
    css = client.get("/static/css/main.css")
    body = css.get_data(as_text=True)
    css.close()
    assert css.status_code == 200
    assert "url(" in body and "http" not in body
