"""Unit tests for the respondent bodies CSV: the shipped file and the validating parser."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from mediation.domain.bodies_csv import (
    BodiesCsvError,
    BodyRow,
    load_shipped_bodies,
    parse_bodies_csv,
    read_shipped_bodies_csv,
)
from mediation.domain.taxonomy import Taxonomy, load_taxonomy

HEADER = "name,type,region,local_authority_kind,compact\n"


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return load_taxonomy()


def problems_of(text: str, tax: Taxonomy) -> list[tuple[int, str]]:
    with pytest.raises(BodiesCsvError) as raised:
        parse_bodies_csv(text, tax)
    return [(problem.line, problem.message) for problem in raised.value.problems]


def test_shipped_file_parses_and_includes_marsh_county_council(tax: Taxonomy) -> None:
    bodies = parse_bodies_csv(read_shipped_bodies_csv(), tax)
    assert 100 <= len(bodies) <= 140
    assert (
        BodyRow("Marsh County Council", "local_authority", "north_west", "county", "local")
        in bodies
    )
    assert load_shipped_bodies() == bodies


def test_shipped_file_covers_every_body_type_region_and_local_authority_kind(
    tax: Taxonomy,
) -> None:
    bodies = load_shipped_bodies(tax)
    assert {body.type for body in bodies} == {body_type.id for body_type in tax.body_types}
    assert {body.region for body in bodies} == {region.id for region in tax.regions}
    kinds = {body.local_authority_kind for body in bodies if body.type == "local_authority"}
    assert kinds == {kind.id for kind in tax.body_type("local_authority").kinds}
    assert {body.compact for body in bodies} == {"national", "local"}
    assert all((b.local_authority_kind is None) == (b.type != "local_authority") for b in bodies)


def test_demo_panel_interests_name_shipped_bodies_exactly(tax: Taxonomy) -> None:
    text = resources.files("mediation.data").joinpath("demo_panel.json").read_text("utf-8")
    names = {body.name for body in load_shipped_bodies(tax)}
    interests = [i for m in json.loads(text)["mediators"] for i in m["interests"]]
    named = [interest["body"] for interest in interests if "body" in interest]
    assert "Marsh County Council" in named
    assert len(named) >= 5
    assert set(named) <= names


def test_valid_rows_are_trimmed_and_blank_lines_ignored(tax: Taxonomy) -> None:
    text = (
        "\ufeff"
        + HEADER
        + "  Marsh   County Council ,local_authority,north_west,county,local\r\n"
        + "\n"
        + "Greystone Prime Contracts Ltd,intermediary,national,,national\n"
    )
    assert parse_bodies_csv(text, tax) == [
        BodyRow("Marsh County Council", "local_authority", "north_west", "county", "local"),
        BodyRow("Greystone Prime Contracts Ltd", "intermediary", "national", None, "national"),
    ]


def test_bad_csv_reports_each_line_number_and_reason(tax: Taxonomy) -> None:
    text = (
        HEADER
        + "Marsh County Council,local_authority,north_west,county,local\n"  # line 2: fine
        + "Fenmoor Quango,quango,east_of_england,,national\n"  # line 3
        + "Marsh Water Board,other,wales,,local\n"  # line 4
        + ",nhs_body,london,,local\n"  # line 5
        + "\n"  # line 6: blank, still counted
        + "marsh county council,local_authority,north_west,county,local\n"  # line 7
    )
    problems = problems_of(text, tax)
    assert [line for line, _ in problems] == [3, 4, 5, 7]
    assert "unknown type 'quango'" in problems[0][1]
    assert "unknown region 'wales'" in problems[1][1]
    assert problems[2][1] == "missing name"
    assert "duplicate name 'marsh county council' (first on line 2)" in problems[3][1]


def test_error_message_lists_every_bad_line(tax: Taxonomy) -> None:
    text = HEADER + "A,quango,london,,local\nB,other,mars,,local\n"
    with pytest.raises(BodiesCsvError) as raised:
        parse_bodies_csv(text, tax)
    message = str(raised.value)
    assert "2 problems" in message
    assert "line 2: unknown type 'quango'" in message
    assert "line 3: unknown region 'mars'" in message


def test_one_line_can_have_several_problems(tax: Taxonomy) -> None:
    problems = problems_of(HEADER + ",council,mars,,sometimes\n", tax)
    assert [line for line, _ in problems] == [2, 2, 2, 2]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("Ashgrove Hall,local_authority,london,,local", "missing local_authority_kind"),
        ("Ashgrove Hall,local_authority,london,borough,local", "unknown local_authority_kind"),
        ("Ashgrove Trust,grant_distributor,london,county,local", "only for local authorities"),
        ("Ashgrove Trust,grant_distributor,london,,regional", "compact must be national or local"),
        ("Ashgrove Trust,grant_distributor,london", "expected 5 fields, found 3"),
        ("Ashgrove Trust,,london,,local", "missing type"),
    ],
)
def test_invalid_row_is_reported_with_its_reason(tax: Taxonomy, row: str, reason: str) -> None:
    problems = problems_of(HEADER + row + "\n", tax)
    assert len(problems) == 1
    assert problems[0][0] == 2
    assert reason in problems[0][1]


def test_wrong_header_is_reported_on_line_1(tax: Taxonomy) -> None:
    assert problems_of("name,kind,region\nX,other,london\n", tax)[0][0] == 1
    assert problems_of("", tax)[0][0] == 1


def test_line_numbers_count_from_the_start_of_a_multi_line_record(tax: Taxonomy) -> None:
    text = HEADER + '"Marsh\nWater Board",other,north_west,,local\nBad,quango,london,,local\n'
    assert [line for line, _ in problems_of(text, tax)] == [4]
