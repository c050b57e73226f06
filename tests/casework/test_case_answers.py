"""The case page shows what the complainant told the intake form as labelled answers, with
their line breaks, never as the JSON document the narrative is sealed as."""

from __future__ import annotations

from flask import Flask

from mediation.services.intake_rules import BreachClaim, Complaint, narrative_answers
from tests.casework.conftest import Driver, Staffed, staff_browser

COMPLAINT = Complaint(
    openness="confidential",
    respondent_body_id=None,
    named_body=None,
    breaches=(BreachClaim("funding_change", reference="Marsh local compact, clause 4.2"),),
    what_happened="The council cut our grant by 40%.\nWe had two weeks' notice.",
    outcome_sought="Three months' notice, as the Compact asks.",
    when="March 2026",
    raised_with_body=True,
    steps_taken="We wrote to the grants officer.",
    impact="",
)


def test_the_answers_come_back_labelled_in_the_order_given() -> None:
    answers = narrative_answers(COMPLAINT.narrative())
    assert answers is not None
    labels = [label for label, _ in answers]
    assert labels == [
        "Parts of the Compact",
        "What happened",
        "When",
        "Raised with the public body",
        "What they did about it",
        "Outcome they want",
    ]  # the empty impact answer is left out
    values = dict(answers)
    assert values["Raised with the public body"] == "Yes"
    assert "Marsh local compact, clause 4.2" in values["Parts of the Compact"]
    assert "funding_change" not in values["Parts of the Compact"]  # its label, not its id


def test_a_plain_text_narrative_is_not_taken_for_answers() -> None:
    assert narrative_answers("We were not consulted.") is None
    assert narrative_answers('{"something": "else"}') is None
    assert narrative_answers("[1, 2]") is None


def test_the_case_page_shows_labelled_answers_not_json(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.file(narrative=COMPLAINT.narrative())
    officer = staff_browser(app, staffed.logins["officer"])
    page = officer.get(f"/casework/cases/{filed.reference}").text
    assert "What happened" in page and "Outcome they want" in page
    assert "The council cut our grant by 40%.<br>" in page  # line breaks kept
    assert '"what_happened"' not in page and "&#34;what_happened&#34;" not in page
