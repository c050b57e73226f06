"""The complaint rules shared by the form, the API and the CLI (no app, no database)."""

from __future__ import annotations

import copy
import json

import pytest

from mediation.services.intake import breaches_from_page, submission_from_answers
from mediation.services.intake_rules import (
    DocumentRefused,
    IntakeInvalid,
    check_document,
    clean_file_name,
    parse_complaint,
)
from tests.intake.test_api import EXAMPLE


def test_the_issues_example_shape_is_accepted() -> None:
    complaint = parse_complaint(copy.deepcopy(EXAMPLE), max_document_bytes=1024)
    assert complaint.openness == "confidential"
    assert complaint.named_body is not None and complaint.named_body.body_type == "local_authority"
    assert complaint.identity is not None and complaint.identity.region == "north_west"
    narrative = json.loads(complaint.narrative())
    assert narrative["breaches"] == [
        {"category": "funding_change", "paragraph": None, "reference": "2010 Compact, outcome 4"}
    ]


def test_a_paragraph_alone_gives_its_category() -> None:
    data = dict(copy.deepcopy(EXAMPLE), breaches=[{"paragraph": "1998/consultation-code/3.1"}])
    complaint = parse_complaint(data, max_document_bytes=1024)
    assert complaint.breaches[0].category == "consultation"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"openness": "sort of"}, "openness"),
        ({"breaches": []}, "breaches"),
        ({"breaches": ["x"]}, "breaches[0]"),
        ({"respondent_body": {"id": "seven"}}, "respondent_body.id"),
        ({"respondent_body": {"id": 10**20}}, "respondent_body.id"),
        ({"respondent_body": None}, "respondent_body"),
        ({"outcome_sought": "   "}, "outcome_sought"),
        ({"what_happened": 42}, "what_happened"),
        ({"what_happened": "x" * 20_001}, "what_happened"),
        # The OpenAPI maxLength counts what was sent, spaces included (found by fuzzing).
        ({"what_happened": "\n" + "x" * 20_000}, "what_happened"),
        (
            {"breaches": [{"category": "funding_change", "reference": "\n" + "*" * 1000}]},
            "breaches[0].reference",
        ),
        ({"raised_with_body": "maybe"}, "raised_with_body"),
        (
            {"documents": [{"name": "a.pdf", "content_base64": "%%%"}]},
            "documents[0].content_base64",
        ),
    ],
)
def test_each_problem_is_reported_at_its_path(change: dict[str, object], path: str) -> None:
    data = dict(copy.deepcopy(EXAMPLE), **change)
    with pytest.raises(IntakeInvalid) as caught:
        parse_complaint(data, max_document_bytes=1024)
    assert path in caught.value.errors


def test_file_names_are_cleaned_and_types_and_sizes_checked() -> None:
    assert clean_file_name("C:\\Users\\me\\grant letter.pdf") == "grant letter.pdf"
    assert clean_file_name("../../etc/passwd") == "passwd"
    assert clean_file_name("\x00") == "document"


def test_a_file_name_cannot_disguise_its_type_with_a_bidirectional_override() -> None:
    # Shown as "reporttxt.pdf"; it is a .txt file, and is named as one.
    assert clean_file_name("report\u202efdp.txt") == "reportfdp.txt"
    assert clean_file_name("\u2066minutes\u2069.pdf") == "minutes.pdf"
    assert clean_file_name("\u200b") == "document"


def test_a_long_file_name_keeps_its_extension() -> None:
    name = clean_file_name("Minutes of the meeting " * 12 + ".pdf")
    assert len(name) <= 200 and name.endswith(".pdf")
    check_document(name, 10, max_bytes=10)  # still a type we take
    assert len(clean_file_name("x" * 300)) == 200
    check_document("a.PDF", 10, max_bytes=10)
    for name, size in (("a.exe", 1), ("a.pdf", 0), ("a.pdf", 11), ("noextension", 1)):
        with pytest.raises(DocumentRefused):
            check_document(name, size, max_bytes=10)


def test_the_forms_pages_become_the_apis_shape() -> None:
    answers = {
        "openness": {"openness": "anonymous"},
        "body": {"body_id": "not_listed", "body_name": "Fenwick Parish", "body_type": "other"},
        "breaches": {
            "categories": ["funding_process"],
            "paragraph": "1998/consultation-code/3.1",
            "reference": "Local clause 9",
        },
        "what_happened": {"what_happened": "w", "when": "May"},
        "steps": {"raised_with_body": "no", "steps_taken": ""},
        "outcome": {"outcome_sought": "o"},
        "impact": {"impact": ""},
        "about": {"organisation": "left over from an earlier choice"},
    }
    submission = submission_from_answers(answers)
    assert "identity" not in submission  # anonymous: an earlier answer is never sent
    assert submission["respondent_body"] == {"name": "Fenwick Parish", "type": "other"}
    assert submission["raised_with_body"] is False
    assert submission["breaches"] == [
        {"category": "funding_process"},
        {
            "category": "consultation",
            "paragraph": "1998/consultation-code/3.1",
            "reference": "Local clause 9",
        },
    ]
    assert parse_complaint(submission, max_document_bytes=1).openness == "anonymous"


def test_a_free_reference_alone_is_a_local_clause() -> None:
    assert breaches_from_page({"categories": [], "reference": "Clause 3"}) == [
        {"category": "local_clause", "reference": "Clause 3"}
    ]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"what_happened": "a\x00b"}, "what_happened"),
        ({"outcome_sought": "lone \ud898 surrogate"}, "outcome_sought"),
        ({"respondent_body": {"name": "Nul\x00 Council", "type": "other"}}, "respondent_body.name"),
        ({"respondent_body": {"id": 1, "name": "x"}}, "respondent_body.name"),
        ({"respondent_body": {"name": "x", "type": ""}}, "respondent_body.type"),
        ({"breaches": [{"category": "equality", "paragraph": ""}]}, "breaches[0].paragraph"),
        ({"documents": [{"name": "a.pdf", "content_base64": 7}]}, "documents[0].content_base64"),
    ],
)
def test_what_cannot_be_stored_or_is_ambiguous_is_refused(
    change: dict[str, object], path: str
) -> None:
    data = dict(copy.deepcopy(EXAMPLE), **change)
    with pytest.raises(IntakeInvalid) as caught:
        parse_complaint(data, max_document_bytes=1024)
    assert path in caught.value.errors


def test_optional_answers_may_be_null() -> None:
    data = dict(
        copy.deepcopy(EXAMPLE),
        when=None,
        steps_taken=None,
        impact=None,
        raised_with_body=None,
        documents=None,
        breaches=[{"category": None, "paragraph": "1998/consultation-code/3.1", "reference": None}],
    )
    assert parse_complaint(data, max_document_bytes=1).breaches[0].category == "consultation"
