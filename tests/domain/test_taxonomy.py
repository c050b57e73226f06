"""Unit tests for the Compact taxonomy data and its lookups."""

from __future__ import annotations

import ast
import copy
import inspect
import json
from datetime import date, timedelta
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediation.domain import bodies_csv, taxonomy
from mediation.domain.taxonomy import (
    Taxonomy,
    TaxonomyError,
    UnknownReferenceError,
    load_taxonomy,
    read_taxonomy_json,
    taxonomy_from_dict,
)

CATEGORY_IDS = {
    "independence",
    "consultation",
    "funding_process",
    "funding_change",
    "equality",
    "volunteering",
    "community_groups",
    "local_clause",
    "victimisation",
}
BODY_TYPE_IDS = {
    "central_department",
    "executive_agency",
    "arms_length_body",
    "regional_office",
    "local_authority",
    "nhs_body",
    "police_fire",
    "education_body",
    "grant_distributor",
    "intermediary",
    "other",
}
LOCAL_AUTHORITY_KINDS = {
    "county",
    "district",
    "unitary",
    "metropolitan",
    "london_borough",
    "parish",
}
REGION_IDS = {
    "north_east",
    "north_west",
    "yorkshire_humber",
    "east_midlands",
    "west_midlands",
    "east_of_england",
    "london",
    "south_east",
    "south_west",
    "national",
}
SIZE_BAND_IDS = ["micro", "small", "medium", "large", "major"]


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return load_taxonomy()


def raw() -> dict[str, Any]:
    """A private copy of the shipped JSON, to break in one place per test."""
    data = read_taxonomy_json()
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def test_shipped_taxonomy_loads_once_and_is_cached() -> None:
    assert load_taxonomy() is load_taxonomy()
    assert load_taxonomy().schema_version == 1


def test_category_identifiers_are_exactly_those_of_the_compact_reference(tax: Taxonomy) -> None:
    assert {category.id for category in tax.categories} == CATEGORY_IDS
    for category in tax.categories:
        assert category.label
        assert category.description


def test_body_type_region_and_size_band_identifiers_match_the_reference(tax: Taxonomy) -> None:
    assert {body_type.id for body_type in tax.body_types} == BODY_TYPE_IDS
    assert {kind.id for kind in tax.body_type("local_authority").kinds} == LOCAL_AUTHORITY_KINDS
    assert {region.id for region in tax.regions} == REGION_IDS
    assert [band.id for band in tax.size_bands] == SIZE_BAND_IDS


def test_only_local_authorities_have_kinds(tax: Taxonomy) -> None:
    assert [b.id for b in tax.body_types if b.kinds] == ["local_authority"]


def test_versions_hold_the_1998_codes_2009_document_and_2010_outcomes(tax: Taxonomy) -> None:
    codes = {section.id for section in tax.version("1998").sections}
    assert codes == {
        "funding-code",
        "funding-procurement-code",
        "consultation-code",
        "volunteering-code",
        "bme-code",
        "community-groups-code",
    }
    assert tax.section("1998", "funding-code").superseded_by == "funding-procurement-code"
    assert tax.section("1998", "funding-procurement-code").year == 2005
    assert len(tax.version("2009").sections) == 1
    outcomes = [section.id for section in tax.version("2010").sections]
    assert outcomes == [f"outcome-{n}" for n in range(1, 6)]
    assert tax.section("local", "local-clause").category == "local_clause"


def test_every_paragraph_and_section_maps_to_a_known_category(tax: Taxonomy) -> None:
    for version in tax.versions:
        for section in version.sections:
            assert section.category is None or section.category in CATEGORY_IDS
            for paragraph in section.paragraphs:
                assert paragraph.category in CATEGORY_IDS, (version.id, section.id, paragraph)
                assert paragraph.summary


def test_confirmed_paragraphs_from_the_reference_are_present_and_marked_confirmed(
    tax: Taxonomy,
) -> None:
    confirmed = [
        ("1998", "consultation-code", "3.1"),
        ("1998", "consultation-code", "11.1"),
        ("1998", "consultation-code", "11.2"),
        ("1998", "community-groups-code", "3.2"),
        ("1998", "funding-procurement-code", "2.9"),
        ("1998", "funding-procurement-code", "4.8"),
        *[("2010", "outcome-1", f"1.{n}") for n in range(1, 7)],
    ]
    for reference in confirmed:
        assert tax.paragraph(*reference).confirmed, reference


def test_outcome_2_and_3_paragraph_numbers_are_marked_unconfirmed(tax: Taxonomy) -> None:
    for section_id in ("outcome-2", "outcome-3"):
        paragraphs = tax.section("2010", section_id).paragraphs
        assert paragraphs
        assert not any(paragraph.confirmed for paragraph in paragraphs)


def test_civil_society_commitments_are_not_offered_as_breaches(tax: Taxonomy) -> None:
    numbers = {p.number for p in tax.section("2010", "outcome-1").paragraphs}
    assert "1.7" not in numbers
    assert "1.8" not in numbers


def test_paragraph_lookup_finds_three_months_notice(tax: Taxonomy) -> None:
    paragraph = tax.paragraph("2010", "outcome-4", "4.2")
    assert "three months" in paragraph.summary
    assert paragraph.category == "funding_change"
    assert tax.paragraph_by_key("2010/outcome-4/4.2") == paragraph
    assert tax.paragraph("1998", "consultation-code", "11.1").category == "consultation"


@pytest.mark.parametrize(
    "reference",
    [("2010", "outcome-4", "9.9"), ("2010", "outcome-9", "4.1"), ("1999", "outcome-4", "4.1")],
)
def test_unknown_paragraph_reference_raises_a_lookup_error(
    tax: Taxonomy, reference: tuple[str, str, str]
) -> None:
    with pytest.raises(UnknownReferenceError):
        tax.paragraph(*reference)


def test_malformed_paragraph_key_raises_a_lookup_error(tax: Taxonomy) -> None:
    with pytest.raises(UnknownReferenceError, match="version/section/paragraph"):
        tax.paragraph_by_key("2010/outcome-4")


def test_category_lookup_returns_the_category_or_raises(tax: Taxonomy) -> None:
    assert tax.category("funding_change").label == "Ending or changing funding"
    with pytest.raises(UnknownReferenceError, match="nonsense"):
        tax.category("nonsense")
    with pytest.raises(LookupError):
        tax.region("wales")


def test_default_category_falls_back_to_the_section_for_unlisted_paragraphs(
    tax: Taxonomy,
) -> None:
    assert tax.default_category("1998", "funding-procurement-code", "2.9") == "consultation"
    assert tax.default_category("1998", "funding-procurement-code", "7.3") == "funding_process"
    assert tax.default_category("1998", "volunteering-code") == "volunteering"
    assert tax.default_category("local", "local-clause", "12(b)") == "local_clause"
    assert tax.default_category("2009", "refreshed-compact") is None


def test_paragraph_choices_keys_resolve_back_to_their_paragraphs(tax: Taxonomy) -> None:
    choices = tax.paragraph_choices()
    keys = [key for key, _ in choices]
    assert "2010/outcome-4/4.1" in keys
    assert len(keys) == len(set(keys))
    for key, label in choices:
        paragraph = tax.paragraph_by_key(key)
        assert paragraph.summary in label
        assert ("unconfirmed" in label) is (not paragraph.confirmed)


def test_choice_helpers_return_id_label_pairs_in_data_order(tax: Taxonomy) -> None:
    assert [i for i, _ in tax.category_choices()] == [c.id for c in tax.categories]
    assert dict(tax.body_type_choices())["arms_length_body"].startswith("Non-departmental")
    assert dict(tax.region_choices())["yorkshire_humber"] == "Yorkshire and the Humber"
    assert [i for i, _ in tax.size_band_choices()] == SIZE_BAND_IDS
    assert {i for i, _ in tax.local_authority_kind_choices()} == LOCAL_AUTHORITY_KINDS
    assert len(tax.result_choices()) == 9
    assert len(tax.remedy_choices()) == 7
    sections = dict(tax.section_choices())
    assert sections["2010/outcome-1"].endswith(tax.section("2010", "outcome-1").title)
    assert "local/local-clause" in sections
    for helper in (tax.category_choices, tax.result_choices, tax.remedy_choices):
        assert all(isinstance(i, str) and isinstance(label, str) for i, label in helper())


def test_only_payment_remedy_records_an_amount(tax: Taxonomy) -> None:
    assert [remedy.id for remedy in tax.remedies if remedy.has_amount] == ["payment"]


def test_outcome_results_cover_the_standardised_format(tax: Taxonomy) -> None:
    labels = " ".join(label.lower() for _, label in tax.result_choices())
    for phrase in ("acknowledged", "partly", "not upheld", "full", "partial", "informally"):
        assert phrase in labels
    for phrase in ("referred", "withdrawn", "out of scope"):
        assert phrase in labels


def test_service_standards_match_the_reference(tax: Taxonomy) -> None:
    standards = tax.service_standards
    assert standards.acknowledge_working_days == 5
    assert standards.anonymous_acknowledge_calendar_days == 7
    assert standards.triage_working_days == 10
    assert standards.respondent_reply_working_days == 20
    assert standards.papers_before_session_working_days == 10
    assert standards.feedback_to_complainant_months == 3
    assert standards.funding_continuity_check_months == (3, 12)
    assert standards.mediator_min_cpd_hours_per_year == 6


@pytest.mark.parametrize(
    ("income", "band"),
    [
        (0, "micro"),
        (9_999, "micro"),
        (10_000, "small"),
        (99_999, "small"),
        (100_000, "medium"),
        (1_000_000, "large"),
        (10_000_000, "major"),
    ],
)
def test_size_band_for_income_uses_the_almanac_boundaries(
    tax: Taxonomy, income: int, band: str
) -> None:
    assert tax.size_band_for_income(income).id == band


@given(st.integers(min_value=0, max_value=10**12))
def test_every_non_negative_income_falls_in_exactly_one_band(income: int) -> None:
    bands = [band for band in load_taxonomy().size_bands if band.contains(income)]
    assert len(bands) == 1


def test_negative_income_is_rejected(tax: Taxonomy) -> None:
    with pytest.raises(ValueError, match="zero or more"):
        tax.size_band_for_income(-1)


def test_shipped_json_round_trips_through_taxonomy_from_dict(tax: Taxonomy) -> None:
    assert taxonomy_from_dict(raw()) == tax


def test_duplicate_category_identifier_raises_taxonomy_error() -> None:
    data = raw()
    data["categories"].append(copy.deepcopy(data["categories"][0]))
    with pytest.raises(TaxonomyError, match="duplicate breach category id 'independence'"):
        taxonomy_from_dict(data)


def test_paragraph_with_unknown_category_raises_taxonomy_error_naming_it() -> None:
    data = raw()
    outcome_4 = next(v for v in data["versions"] if v["id"] == "2010")["sections"][3]
    outcome_4["paragraphs"][0]["category"] = "funding_cuts"
    with pytest.raises(
        TaxonomyError, match=r"2010/outcome-4/4\.1: unknown category 'funding_cuts'"
    ):
        taxonomy_from_dict(data)


def test_every_problem_is_reported_at_once() -> None:
    data = raw()
    data["regions"].append({"id": "london", "label": "London again", "ons_code": None})
    data["remedies"].append({"id": "payment", "label": "Payment again", "has_amount": True})
    with pytest.raises(TaxonomyError) as raised:
        taxonomy_from_dict(data)
    assert "duplicate region id 'london'" in str(raised.value)
    assert "duplicate remedy id 'payment'" in str(raised.value)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda d: d.update(schema_version=2), "schema_version is 2"),
        (lambda d: d["categories"][1].pop("label"), r"categories\[1\]\.label"),
        (lambda d: d.update(regions="london"), "regions: expected a list"),
        (lambda d: d["size_bands"][1].update(min_income=20_000), "'small' should start at 10000"),
        (lambda d: d["size_bands"][4].update(max_income=10**9), "no upper limit"),
        (lambda d: d["service_standards"].update(triage_working_days=0), "triage_working_days"),
        (lambda d: d["versions"][0]["sections"][0].update(superseded_by="nope"), "superseded_by"),
        (lambda d: d["body_types"][0].update(id="Central Dept"), "not a valid identifier"),
        (lambda d: d["versions"][2]["sections"][0].update(kind="chapter"), "kind 'chapter'"),
        (
            lambda d: d["versions"][2]["sections"][0]["paragraphs"][0].update(confirmed="yes"),
            r"paragraphs\[0\]\.confirmed: expected true or false",
        ),
    ],
)
def test_broken_taxonomy_data_raises_a_clear_taxonomy_error(breakage: Any, message: str) -> None:
    data = raw()
    breakage(data)
    with pytest.raises(TaxonomyError, match=message):
        taxonomy_from_dict(data)


def test_a_non_object_is_rejected() -> None:
    with pytest.raises(TaxonomyError, match="expected an object"):
        taxonomy_from_dict(["not", "a", "taxonomy"])


def test_domain_modules_import_neither_flask_nor_a_database() -> None:
    for module in (taxonomy, bodies_csv):
        tree = ast.parse(inspect.getsource(module))
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        }
        assert not imported & {"flask", "flask_sqlalchemy", "sqlalchemy"}, module.__name__


def demo_panel() -> list[dict[str, Any]]:
    text = resources.files("mediation.data").joinpath("demo_panel.json").read_text("utf-8")
    mediators: list[dict[str, Any]] = json.loads(text)["mediators"]
    return mediators


def demo_panel_as_of() -> date:
    """The day the demo panel's dates are written for (loading moves them to today)."""
    text = resources.files("mediation.data").joinpath("demo_panel.json").read_text("utf-8")
    return date.fromisoformat(json.loads(text)["as_of"])


def test_demo_panel_uses_taxonomy_identifiers_and_covers_every_category_and_region(
    tax: Taxonomy,
) -> None:
    panel = demo_panel()
    assert len(panel) == 12
    specialisms = {s for mediator in panel for s in mediator["specialisms"]}
    regions = {r for mediator in panel for r in mediator["regions"]}
    assert specialisms == CATEGORY_IDS
    assert regions == REGION_IDS


def test_demo_panel_is_fictional_and_within_the_mediator_standards(tax: Taxonomy) -> None:
    panel = demo_panel()
    assert len({m["email"] for m in panel}) == len(panel)
    assert all(m["email"].endswith("@panel.example.org") for m in panel)
    assert all(2 <= m["capacity"] <= 6 for m in panel)
    assert all("en" in m["languages"] for m in panel)
    minimum = tax.service_standards.mediator_min_cpd_hours_per_year
    lapsed = [
        m["name"]
        for m in panel
        if m["cpd_hours"] < minimum
        or date.fromisoformat(m["cpd_last_date"]) < demo_panel_as_of() - timedelta(days=365)
    ]
    assert len(lapsed) == 1


def test_demo_panel_has_exactly_one_mediator_on_leave_on_its_day() -> None:
    day = demo_panel_as_of()
    on_leave = [
        m["name"]
        for m in demo_panel()
        for leave in m["leave"]
        if date.fromisoformat(leave["start"]) <= day <= date.fromisoformat(leave["end"])
    ]
    assert len(on_leave) == 1
