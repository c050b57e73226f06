"""Fixtures for intake tests: a custodian to seal to, a listed body, and form journeys."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mediation.models.time import utcnow
from tests import seeded
from tests.conftest import StaffFactory, StaffLogin

LISTED_BODY = "Marsh County Council"


@pytest.fixture
def officer(make_staff: StaffFactory) -> StaffLogin:
    """A case officer: complaints are sealed to every custodian, so one must exist."""
    return make_staff("case_officer")


@pytest.fixture
def body_id(app: Flask, make_staff: StaffFactory) -> int:
    from mediation.extensions import db

    with app.app_context():
        found = make_staff.body(LISTED_BODY)
        db.session.commit()
        return found


class Clock:
    """A controllable clock for drafts, throttling and sessions: tests never sleep."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moving = Clock()
    import mediation.web.complainant.session as complainant_session

    monkeypatch.setattr(complainant_session, "now", moving)
    for module in ("intake_pages", "sign_in", "portal"):
        imported = __import__(f"mediation.web.complainant.{module}", fromlist=["now"])
        if hasattr(imported, "now"):
            monkeypatch.setattr(imported, "now", moving)
    return moving


def page_answers(
    openness: str, body_id: int, *, identity: dict[str, str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Answers for every page of the form, in order, as a complainant would type them."""
    pages: list[tuple[str, dict[str, Any]]] = [
        ("openness", {"openness": openness}),
        ("body", {"body_id": str(body_id)}),
        (
            "breaches",
            {
                "categories": ["funding_change", "local_clause"],
                "paragraph": "",
                "reference": "Marsh Local Compact clause 4.2",
            },
        ),
        ("what_happened", {"what_happened": seeded.NARRATIVE, "when": "March 2025"}),
        ("steps", {"raised_with_body": "yes", "steps_taken": "Wrote to the grants officer"}),
        ("outcome", {"outcome_sought": "Reinstate the grant with three months' notice"}),
        ("impact", {"impact": "Forty families lost their advice sessions"}),
        ("documents", {"action": "continue"}),
    ]
    if openness != "anonymous":
        person = identity or seeded.IDENTITY
        pages.append(
            (
                "about",
                {
                    "organisation": person["organisation"],
                    "contact_name": person["contact_name"],
                    "email": person["email"],
                    "phone": person["phone"],
                    "region": person["region"],
                    "size_band": person["size_band"],
                },
            )
        )
    return pages


@dataclass
class Receipt:
    reference: str
    passphrase: str


def read_receipt(text: str) -> Receipt:
    reference = re.search(r'id="reference">([^<]+)<', text)
    passphrase = re.search(r'id="passphrase">([^<]+)<', text)
    assert reference and passphrase, "no receipt on the page"
    return Receipt(html.unescape(reference.group(1)), html.unescape(passphrase.group(1)))


def fill_in(client: FlaskClient, pages: list[tuple[str, dict[str, Any]]]) -> None:
    for step, data in pages:
        response = client.post(f"/my-complaint/new/{step}", data=data)
        assert response.status_code == 302, (step, response.text)


def submit(client: FlaskClient) -> Receipt:
    response = client.post("/my-complaint/new/check")
    assert response.status_code == 303, response.text
    assert response.headers["Location"].endswith("/my-complaint/receipt")
    shown = client.get("/my-complaint/receipt")
    assert shown.status_code == 200
    return read_receipt(shown.text)


@pytest.fixture
def journey(client: FlaskClient, officer: StaffLogin, body_id: int) -> Callable[..., Receipt]:
    def run(openness: str, **kwargs: Any) -> Receipt:
        fill_in(client, page_answers(openness, body_id, **kwargs))
        return submit(client)

    return run


def is_checked(text: str, value: str) -> bool:
    """Whether the radio or checkbox with this value is checked on the page."""
    for tag in re.findall(r"<input[^>]*>", text):
        if f'value="{value}"' in tag and re.search(r"\bchecked\b", tag):
            return True
    return False
