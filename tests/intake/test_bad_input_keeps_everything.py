"""Bad input, expired forms, idle sessions and oversized uploads never lose what was typed."""

from __future__ import annotations

import re
from io import BytesIO

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import seeded
from tests.conftest import StaffLogin
from tests.intake.conftest import Clock, fill_in, is_checked, page_answers


def test_a_missing_answer_is_named_beside_the_field_and_in_the_summary(
    client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    fill_in(client, page_answers("confidential", body_id)[:3])
    response = client.post(
        "/my-complaint/new/what_happened", data={"what_happened": seeded.NARRATIVE, "when": ""}
    )
    assert response.status_code == 200
    text = response.text
    assert "<title>Error: " in text
    assert 'class="error-summary"' in text and 'href="#when"' in text
    assert 'id="when-error"' in text
    assert seeded.NARRATIVE in text  # what was typed is on the page again
    # ... and saved: coming back to the page later shows it too.
    assert seeded.NARRATIVE in client.get("/my-complaint/new/what_happened").text


def test_every_identity_field_is_kept_when_one_is_wrong(
    client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    pages = page_answers("confidential", body_id)
    fill_in(client, pages[:-1])
    about = dict(pages[-1][1], email="not-an-email")
    response = client.post("/my-complaint/new/about", data=about)
    assert response.status_code == 200
    assert "Enter an email address in the right format" in response.text
    for value in (seeded.IDENTITY["organisation"], seeded.IDENTITY["contact_name"], "not-an-email"):
        assert value in response.text
    assert is_checked(response.text, "north_west")
    # Check your answers sends the complainant back to the page that needs fixing.
    check = client.get("/my-complaint/new/check")
    assert "Some answers need your attention" in check.text
    assert "/my-complaint/new/about?return=check" in check.text
    assert client.post("/my-complaint/new/check").status_code == 200  # nothing filed


def test_an_expired_form_is_shown_again_with_everything_typed(
    app: Flask, officer: StaffLogin, body_id: int
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    page = client.get("/my-complaint/new/openness")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert token
    client.post(
        "/my-complaint/new/openness", data={"openness": "anonymous", "csrf_token": token[1]}
    )
    # The session cookie idles out (or the token is stale) while the complainant writes.
    client.delete_cookie("cm_session")
    response = client.post(
        "/my-complaint/new/what_happened",
        data={"what_happened": seeded.NARRATIVE, "when": "May", "csrf_token": token[1]},
    )
    assert response.status_code == 200
    assert "The form expired. Please try again" in response.text
    assert seeded.NARRATIVE in response.text
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.text)
    assert fresh
    again = client.post(
        "/my-complaint/new/what_happened",
        data={"what_happened": seeded.NARRATIVE, "when": "May", "csrf_token": fresh[1]},
    )
    assert again.status_code == 302
    # The earlier page survived too: the draft's key is in its own cookie, not the session.
    assert is_checked(client.get("/my-complaint/new/openness").text, "anonymous")


def test_a_draft_outlives_an_idle_session_and_expires_after_a_day(
    client: FlaskClient, officer: StaffLogin, body_id: int, clock: Clock
) -> None:
    fill_in(client, page_answers("anonymous", body_id)[:4])
    clock.advance(hours=3)
    assert seeded.NARRATIVE in client.get("/my-complaint/new/what_happened").text
    clock.advance(hours=25)
    response = client.get("/my-complaint/new/what_happened")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/my-complaint/new/openness")
    assert "We could not find your draft" in client.get("/my-complaint/new/openness").text


def test_an_oversized_upload_gets_a_page_stating_the_limit_and_keeps_the_form(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    # Small limits: the test client spools bodies over 500 KB to temporary files it leaks.
    app.config["MAX_CONTENT_LENGTH"] = 200 * 1024
    app.config["MAX_DOCUMENT_BYTES"] = 100 * 1024
    fill_in(client, page_answers("anonymous", body_id)[:7])
    response = client.post(
        "/my-complaint/new/documents",
        data={"action": "upload", "files": [(BytesIO(b"x" * (300 * 1024)), "big.pdf")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "200 KB" in response.text and "100 KB" in response.text
    assert 'enctype="multipart/form-data"' in response.text  # the form is there to try again
    assert seeded.NARRATIVE in client.get("/my-complaint/new/check").text  # nothing else lost
    # A file over the per-file limit, under the request limit: named, with the limit.
    response = client.post(
        "/my-complaint/new/documents",
        data={"action": "upload", "files": [(BytesIO(b"x" * (150 * 1024)), "scan.pdf")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "“scan.pdf” is larger than 100 KB" in response.text
    response = client.post(
        "/my-complaint/new/documents",
        data={"action": "upload", "files": [(BytesIO(b"MZ..."), "setup.exe")]},
        content_type="multipart/form-data",
    )
    assert "is not a file type we accept" in response.text


def test_a_page_posted_after_the_draft_expired_is_kept_and_the_rest_asked_again(
    client: FlaskClient, officer: StaffLogin, body_id: int, clock: Clock
) -> None:
    fill_in(client, page_answers("anonymous", body_id)[:3])
    clock.advance(hours=30)
    response = client.post(
        "/my-complaint/new/what_happened", data={"what_happened": seeded.NARRATIVE, "when": "May"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/my-complaint/new/openness")
    assert seeded.NARRATIVE in client.get("/my-complaint/new/what_happened").text


def test_a_body_not_listed_is_named_with_its_type_and_never_listed(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    from sqlalchemy import select

    from mediation.extensions import db
    from mediation.models.bodies import RespondentBody
    from tests.intake.conftest import submit

    pages = page_answers("anonymous", body_id)
    pages[1] = ("body", {"body_id": "not_listed", "body_name": "Fenwick Parish", "body_type": ""})
    fill_in(client, pages[:1])
    response = client.post("/my-complaint/new/body", data=pages[1][1])
    assert response.status_code == 200
    assert "Choose what kind of public body it is" in response.text
    assert "Fenwick Parish" in response.text
    pages[1][1]["body_type"] = "local_authority"
    fill_in(client, pages[1:])
    submit(client)
    with app.app_context():
        names = db.session.execute(select(RespondentBody.name)).scalars().all()
        assert not any("Fenwick" in name for name in names)
    # Another visitor's search never shows the body named, nor the placeholder for it.
    other = app.test_client()
    other.post("/my-complaint/new/openness", data={"openness": "anonymous"})
    for term in ("fenwick", "unlisted", "triage"):
        found = other.post("/my-complaint/new/body", data={"q": term, "action": "search"})
        assert found.status_code == 303
        shown = other.get(found.headers["Location"]).text.split('role="status"')[1]
        assert "We found no body" in shown, term
    found = other.post("/my-complaint/new/body", data={"q": "marsh", "action": "search"})
    assert "Marsh County Council" in other.get(found.headers["Location"]).text


def test_sending_with_an_expired_page_files_nothing_and_asks_again(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    from sqlalchemy import func, select

    from mediation.extensions import db
    from mediation.models.cases import Case

    fill_in(client, page_answers("anonymous", body_id))
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/my-complaint/new/check", data={"csrf_token": "stale"})
    assert response.status_code == 200
    assert "Your answers are kept: send again" in response.text
    assert seeded.NARRATIVE in response.text
    with app.app_context():
        assert db.session.execute(select(func.count(Case.id))).scalar_one() == 0


def test_an_impossible_body_number_is_refused_politely(
    client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    fill_in(client, page_answers("anonymous", body_id)[:1])
    response = client.post("/my-complaint/new/body", data={"body_id": "9" * 25})
    assert response.status_code == 200
    assert "<title>Error: " in response.text


def test_drafts_started_from_one_connection_are_limited_and_the_page_is_kept(
    throttled_app: Flask,
) -> None:
    """Each draft may hold documents for a day: one script must not start them without
    end. Past the limit the page comes back as typed, saying why and what to do."""
    from mediation.extensions import db
    from mediation.models.intake import Draft

    throttled_app.config["DRAFT_RATE_LIMIT"] = "3 per hour"
    for _ in range(3):
        fresh = throttled_app.test_client()  # no draft cookie: each starts a draft
        answer = fresh.post("/my-complaint/new/openness", data={"openness": "anonymous"})
        assert answer.status_code == 302
    refused = throttled_app.test_client().post(
        "/my-complaint/new/what_happened",
        data={"what_happened": seeded.NARRATIVE, "when": "May"},
    )
    assert refused.status_code == 429
    assert "Too many complaints have been started from your connection" in refused.text
    assert seeded.NARRATIVE in refused.text  # what was typed is on the page
    elsewhere = throttled_app.test_client()
    answer = elsewhere.post(
        "/my-complaint/new/openness",
        data={"openness": "anonymous"},
        environ_base={"REMOTE_ADDR": "198.51.100.9"},
    )
    assert answer.status_code == 302  # another connection is not held back
    with throttled_app.app_context():
        assert len(db.session.execute(select(Draft)).all()) == 4


def test_uploads_from_one_connection_are_limited(throttled_app: Flask) -> None:
    from mediation.extensions import db
    from mediation.models.intake import DraftDocument

    throttled_app.config["UPLOAD_RATE_LIMIT"] = "2 per hour"
    client = throttled_app.test_client()

    def upload(name: str):  # type: ignore[no-untyped-def]
        return client.post(
            "/my-complaint/new/documents",
            data={"action": "upload", "files": [(BytesIO(b"minutes"), name)]},
            content_type="multipart/form-data",
        )

    assert (
        client.post("/my-complaint/new/openness", data={"openness": "anonymous"}).status_code == 302
    )
    assert upload("one.txt").status_code == 200
    assert upload("two.txt").status_code == 200
    refused = upload("three.txt")
    assert refused.status_code == 429
    assert "Too many files have been sent from your connection" in refused.text
    with throttled_app.app_context():
        assert len(db.session.execute(select(DraftDocument)).all()) == 2
    # Other answers still go through: only files are held back.
    assert (
        client.post("/my-complaint/new/openness", data={"openness": "anonymous"}).status_code == 302
    )
