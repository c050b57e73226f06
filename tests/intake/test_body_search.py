"""The public-body search is a POST of the page's own form: the name searched for (the
funder complained about) never goes into an address, a log line or the browser's history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask, request, request_started
from flask.testing import FlaskClient

from mediation.services import intake
from tests.conftest import StaffLogin
from tests.intake.conftest import fill_in, is_checked, page_answers

TERM = "Marsh Coun"


class Forms(HTMLParser):
    """Every form on a page: its method, its action and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.forms.append({"method": values.get("method"), "action": values.get("action")})
            self.forms[-1]["hidden"] = {}
        elif tag == "input" and values.get("type") == "hidden" and self.forms:
            self.forms[-1]["hidden"][values.get("name")] = values.get("value")


def forms_on(text: str) -> list[dict[str, Any]]:
    parser = Forms()
    parser.feed(text)
    return parser.forms


@pytest.fixture
def addresses(app: Flask) -> Iterator[list[str]]:
    """The address of every request the server is sent, redirects followed included."""
    seen: list[str] = []

    def note(sender: Flask, **_: Any) -> None:
        seen.append(request.full_path)

    request_started.connect(note, app)
    yield seen
    request_started.disconnect(note, app)


def test_no_request_the_body_page_makes_has_the_search_term_in_its_address(
    client: FlaskClient, officer: StaffLogin, body_id: int, addresses: list[str]
) -> None:
    fill_in(client, page_answers("anonymous", body_id)[:1])
    page = client.get("/my-complaint/new/body")
    (form,) = [f for f in forms_on(page.text) if f["action"] != "/my-complaint/new/delete"]
    assert form["method"] == "post" and form["action"] == "/my-complaint/new/body"
    assert 'role="search"' in page.text and 'name="q"' in page.text
    assert 'method="get"' not in page.text
    searched = client.post(
        form["action"], data={"q": TERM, "action": "search"}, follow_redirects=True
    )
    assert searched.status_code == 200
    assert searched.request.path == "/my-complaint/new/body"
    # The results are on the page, and the term is kept in the box (from the sealed draft).
    assert "Choose from what we found below." in searched.text
    assert f'value="{body_id}"' in searched.text and "Marsh County Council" in searched.text
    assert f'value="{TERM}"' in searched.text
    # Choosing a result and going on: the term was in no address at any point.
    chosen = client.post(
        form["action"], data={"q": TERM, "body_id": str(body_id)}, follow_redirects=True
    )
    assert chosen.request.path == "/my-complaint/new/breaches"
    assert len(addresses) >= 5
    for address in addresses:
        assert "marsh" not in address.lower() and "q=" not in address, address


def test_a_search_keeps_everything_typed_on_the_page(
    client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    fill_in(client, page_answers("anonymous", body_id)[:1])
    typed = {
        "q": "Odcombe",
        "action": "search",
        "body_id": "not_listed",
        "body_name": "Little Odcombe Parish Council",
        "body_type": "local_authority",
    }
    response = client.post("/my-complaint/new/body", data=typed)
    assert response.status_code == 303
    assert response.headers["Location"] == "/my-complaint/new/body"
    page = client.get("/my-complaint/new/body").text
    assert "We found no body with that name" in page
    assert 'value="Odcombe"' in page and 'value="Little Odcombe Parish Council"' in page
    assert is_checked(page, "not_listed")
    assert re.search(r'<option selected value="local_authority"', page)
    # No error is shown for a search, even though nothing is chosen yet.
    fill_in(client, page_answers("anonymous", body_id)[:1])
    client.post("/my-complaint/new/body", data={"q": "Odcombe", "action": "search"})
    page = client.get("/my-complaint/new/body").text
    assert "<title>Error:" not in page


def test_an_address_with_a_search_term_searches_nothing(
    client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    fill_in(client, page_answers("anonymous", body_id)[:1])
    page = client.get("/my-complaint/new/body?q=marsh")
    assert page.status_code == 200
    assert "Marsh County Council" not in page.text and 'role="status"' not in page.text


@pytest.mark.parametrize("returning", [False, True])
def test_every_page_of_the_form_posts_to_an_address_with_no_query_string(
    client: FlaskClient, officer: StaffLogin, body_id: int, returning: bool
) -> None:
    fill_in(client, page_answers("confidential", body_id))
    for step in [*intake.steps_for("confidential"), "check", "delete"]:
        path = f"/my-complaint/new/{step}"
        page = client.get(path + ("?return=check" if returning else ""))
        assert page.status_code == 200, step
        forms = forms_on(page.text)
        assert forms, step
        for form in forms:
            assert form["method"] == "post", (step, form)
            assert form["action"] and "?" not in form["action"], (step, form)
        mine = [f for f in forms if f["action"] == path]
        assert mine, (step, forms)
        if step in intake.STEPS:
            # Opened from check your answers: the way back is a hidden field, not a query.
            assert (mine[0]["hidden"].get("return") == "check") == returning, step


def test_a_search_from_check_your_answers_returns_there_after_saving(
    client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    fill_in(client, page_answers("anonymous", body_id))
    client.get("/my-complaint/new/body?return=check")
    searched = client.post(
        "/my-complaint/new/body", data={"q": "marsh", "action": "search", "return": "check"}
    )
    assert searched.headers["Location"] == "/my-complaint/new/body?return=check"
    saved = client.post("/my-complaint/new/body", data={"body_id": str(body_id), "return": "check"})
    assert saved.headers["Location"] == "/my-complaint/new/check"


def test_odd_search_terms_get_a_page_not_an_error(
    client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    fill_in(client, page_answers("anonymous", body_id)[:1])
    for term in ["", "   ", "%", "_", "\\", "\x00", "x" * 5000, "' OR 1=1 --", "\u202e"]:
        response = client.post(
            "/my-complaint/new/body", data={"q": term, "action": "search"}, follow_redirects=True
        )
        assert response.status_code == 200, repr(term[:10])
        assert response.request.path == "/my-complaint/new/body"
