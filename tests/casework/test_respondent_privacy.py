"""A crawl of every respondent route over seeded cases: no identity, narrative, note or
sealed message of an anonymous or confidential complainant, no time of day, and no case
of another body. The open case shows only what its complainant chose to share."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlparse

import pytest
from flask import Flask

from mediation.extensions import db
from mediation.services import complaints, mediation_work, respondents
from mediation.services.accounts import actor_for
from tests import seeded
from tests.casework.conftest import Browser, Driver, Staffed, staff_browser

OPEN_IDENTITY = {
    "organisation": "Brightwater Open Arts Forum",
    "contact_name": "Sam Open-Contact",
    "email": "open@brightwater.example.org",
}
TIME_OF_DAY = re.compile(r"\b([01]?\d|2[0-3]):[0-5]\d\b")
HREF = re.compile(r'(?:href|action)="([^"#]+)')


def seed_case(driver: Driver, openness: str) -> complaints.Filed:
    """A case in mediation with every kind of sealed content, and an approved statement."""
    filed = driver.file(openness, identity=OPEN_IDENTITY if openness == "open" else None)
    case = filed.case
    for step in driver.path("in_mediation", filed):
        step()
    s = driver.s
    mediation_work.add_note(db.session, s.mediator, case, seeded.MESSAGE)
    mediation_work.send_message(db.session, s.mediator, case, "complainant", seeded.REPLY)
    mediation_work.send_message(
        db.session, s.mediator, case, "respondent", "Please send the funding letters."
    )
    complaints.add_message(db.session, case, actor_for(s.officer), seeded.MESSAGE, "case_officer")
    respondents.reply(db.session, s.respondent, case.reference, "We will reply in full shortly.")
    respondents.upload_document(
        db.session, s.respondent, case.reference, "letters.pdf", b"%PDF-1.4 funding letters"
    )
    db.session.commit()
    return filed


def crawl(browser: Browser, start: list[str]) -> dict[str, str]:
    """Every internal page reachable from `start` by GET, and every form's target by POST."""
    seen: dict[str, str] = {}
    queue = deque(start)
    while queue:
        path = queue.popleft()
        if path in seen or not path.startswith("/") or path.startswith("/static"):
            continue
        if path in {"/sign-out"}:
            continue
        response = browser.get(path)
        seen[path] = response.text
        for found in HREF.findall(response.text):
            target = urlparse(urljoin("http://localhost" + path, found)).path
            if target.startswith("/respondent") or target in {"/", "/privacy"}:
                queue.append(target)
    return seen


def posts(browser: Browser, app: Flask, reference: str) -> dict[str, str]:
    """Every POST route of the portal, with nothing filled in, following the redirect."""
    pages = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("respondent.") and "POST" in (rule.methods or set()):
            path = rule.rule.replace("<reference>", reference)
            pages["POST " + path] = browser.post(path, follow_redirects=True).text
    return pages


@pytest.fixture
def seeded_cases(driver: Driver) -> dict[str, complaints.Filed]:
    return {
        openness: seed_case(driver, openness) for openness in ("anonymous", "confidential", "open")
    }


def test_no_respondent_page_shows_what_the_complainant_did_not_approve(
    app: Flask, staffed: Staffed, seeded_cases: dict[str, complaints.Filed]
) -> None:
    browser = staff_browser(app, staffed.logins["respondent"])
    pages = crawl(browser, ["/respondent/"])
    for filed in seeded_cases.values():
        pages.update(posts(browser, app, filed.reference))
    # Every case was reached, and its own page rendered.
    for filed in seeded_cases.values():
        assert f"/respondent/cases/{filed.reference}" in pages
    assert len(pages) >= 5
    for path, text in pages.items():
        for secret in seeded.SEEDED_STRINGS:
            assert secret not in text, (path, secret)
        assert not TIME_OF_DAY.search(text), (path, TIME_OF_DAY.search(text))
        assert "filed at" not in text.lower() and "submitted at" not in text.lower()
        assert "Sam Open-Contact" not in text or seeded_cases["open"].reference in path
    # The open case shows the identity its complainant chose to share, and nothing more.
    open_page = pages[f"/respondent/cases/{seeded_cases['open'].reference}"]
    assert OPEN_IDENTITY["organisation"] in open_page
    confidential_page = pages[f"/respondent/cases/{seeded_cases['confidential'].reference}"]
    assert "chose not to be named" in confidential_page
    assert "Please send the funding letters." in confidential_page


def test_staff_of_another_body_see_none_of_these_cases(
    app: Flask, staffed: Staffed, seeded_cases: dict[str, complaints.Filed]
) -> None:
    browser = staff_browser(app, staffed.logins["other_respondent"])
    listing = browser.get("/respondent/").text
    for filed in seeded_cases.values():
        assert filed.reference not in listing
        assert browser.get(f"/respondent/cases/{filed.reference}").status_code == 404
        reply = browser.post(f"/respondent/cases/{filed.reference}/reply", data={"text": "x"})
        assert reply.status_code == 404


def test_a_case_without_an_approved_statement_is_invisible_to_its_own_body(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("mediation_offered")
    waiting = driver.file()
    for step in driver.path("triage", waiting):
        step()
    browser = staff_browser(app, staffed.logins["respondent"])
    listing = browser.get("/respondent/").text
    assert filed.reference in listing
    assert waiting.reference not in listing
    assert browser.get(f"/respondent/cases/{waiting.reference}").status_code == 404
