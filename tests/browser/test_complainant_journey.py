"""A voluntary group makes a complaint in a real browser, with JavaScript on and off: every
page of the form, the receipt, signing in with the reference and passphrase, and a message."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests import seeded
from tests.browser.harness import Journey, Journeys
from tests.conftest import StaffFactory

STEP_PAGE = re.compile(r"^/my-complaint/new/(\w+)$")


def _openness(person: Journey, openness: str) -> None:
    person.page.get_by_label(openness.capitalize(), exact=True).check()


def _body(person: Journey, _: str) -> None:
    person.fill("Search our list of public bodies", "Marsh")
    person.click("Search", "body search results")
    person.page.get_by_label("Marsh County Council", exact=True).check()


def _breaches(person: Journey, _: str) -> None:
    person.page.locator("input[name=categories]").first.check()
    person.fill("Local Compact clause or other reference (optional)", "Local clause 4.2")


def _what_happened(person: Journey, _: str) -> None:
    person.fill("What happened?", seeded.NARRATIVE)
    person.fill("When did it happen?", "March 2025")


def _steps(person: Journey, _: str) -> None:
    person.page.get_by_label("No", exact=True).check()


def _outcome(person: Journey, _: str) -> None:
    person.fill("What would put things right?", "Three months' notice and a written reason.")


def _impact(person: Journey, _: str) -> None:
    person.fill(
        "How has this affected the people your organisation helps? (optional)",
        "Our Saturday advice sessions stopped.",
    )


def _documents(person: Journey, folder: str) -> None:
    letter = Path(folder) / "grant-letter.txt"
    letter.write_text("Dear group, your grant ends in two weeks.")
    person.page.get_by_label("Add documents").set_input_files(str(letter))
    person.click("Add these files", "document added")
    assert person.page.get_by_text("grant-letter.txt").first.is_visible()


def _about(person: Journey, _: str) -> None:
    person.fill("Name of your organisation", seeded.IDENTITY["organisation"])
    person.fill("Who should we contact?", seeded.IDENTITY["contact_name"])
    person.fill("Email address", seeded.IDENTITY["email"])
    person.page.locator("input[name=region]").first.check()
    person.page.locator("input[name=size_band]").first.check()


ANSWERS: dict[str, Callable[[Journey, str], None]] = {
    "body": _body,
    "breaches": _breaches,
    "what_happened": _what_happened,
    "steps": _steps,
    "outcome": _outcome,
    "impact": _impact,
    "documents": _documents,
    "about": _about,
}


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript-on", "javascript-off"])
def test_a_group_complains_confidentially_signs_in_and_sends_a_message(
    javascript: bool, app: Flask, journeys: Journeys, make_staff: StaffFactory, tmp_path: Path
) -> None:
    make_staff("case_officer")  # complaints are sealed to the custodians
    with app.app_context():
        make_staff.body("Marsh County Council")
        from mediation.extensions import db

        db.session.commit()
    group = journeys("complainant", javascript=javascript)
    group.open("/", "home page")
    group.click("Start now", "how open", role="link")
    group.click("Save and continue", "how open, nothing chosen")
    assert group.page.title().startswith("Error: ")
    _openness(group, "confidential")
    group.click("Save and continue", "next page")
    for _ in range(12):
        match = STEP_PAGE.match(urlsplit(group.page.url).path)
        if match is None or match.group(1) == "check":
            break
        step = match.group(1)
        ANSWERS[step](group, str(tmp_path))
        group.click("Save and continue", f"after {step}")
    assert urlsplit(group.page.url).path == "/my-complaint/new/check", group.page.url
    assert group.page.get_by_text(seeded.NARRATIVE).first.is_visible()
    group.click("Send my complaint", "receipt")
    reference = group.page.locator("#reference").inner_text().strip()
    passphrase = group.page.locator("#passphrase").inner_text().strip()
    assert re.fullmatch(r"CM-[0-9A-Z]{4}-[0-9A-Z]{4}", reference), reference
    assert len(passphrase.split()) == 7
    # Nothing the group typed (nor the body it searched for), and not the passphrase, ever
    # went into an address.
    for url in group.navigated:
        assert passphrase.split()[0] not in url and "Ravensmoor" not in url
        assert "marsh" not in url.lower(), url

    group.click("signing in to your complaint", "complainant sign-in", role="link")
    group.fill("Case reference", reference)
    group.fill("Passphrase", "wrong words entirely here now please thanks")
    group.click("Sign in", "wrong passphrase")
    assert group.page.title().startswith("Error: ")
    group.fill("Case reference", reference)
    group.fill("Passphrase", passphrase)
    group.click("Sign in", "my complaint")
    assert urlsplit(group.page.url).path == "/my-complaint/"
    group.fill("Your message", seeded.MESSAGE)
    group.click("Send message", "message sent")
    assert group.page.get_by_text(seeded.MESSAGE).first.is_visible()
    group.click("Sign out", "signed out")
