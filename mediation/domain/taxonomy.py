"""The Compact taxonomy (versions, paragraphs, breach categories, dimensions), read from data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Protocol, TypeVar

SCHEMA_VERSION = 1
DATA_PACKAGE = "mediation.data"
TAXONOMY_RESOURCE = "compact_taxonomy.json"

SECTION_KINDS = frozenset({"code", "outcome", "document", "clause"})
COMPACT_SCOPES = frozenset({"national", "local"})

_IDENTIFIER = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
_PARAGRAPH_NUMBER = re.compile(r"^[0-9]+(?:\.[0-9]+)*$")
_DASH = " \N{EN DASH} "


class TaxonomyError(ValueError):
    """The taxonomy data is malformed or inconsistent."""


class UnknownReferenceError(LookupError):
    """An identifier or paragraph reference is not in the taxonomy."""


@dataclass(frozen=True)
class SubType:
    """A finer distinction inside a category or body type (e.g. a county council)."""

    id: str
    label: str


@dataclass(frozen=True)
class BreachCategory:
    """A breach category used for statistics, with example sub-types."""

    id: str
    label: str
    description: str
    subtypes: tuple[SubType, ...]


@dataclass(frozen=True)
class Paragraph:
    """A numbered undertaking; `confirmed` is False where the number is a placeholder."""

    number: str
    summary: str
    category: str
    confirmed: bool


@dataclass(frozen=True)
class Section:
    """A code of good practice, an outcome, a whole document or a local clause."""

    id: str
    kind: str
    label: str
    title: str
    category: str | None
    paragraphs: tuple[Paragraph, ...]
    year: int | None = None
    superseded_by: str | None = None
    note: str | None = None

    def paragraph(self, number: str) -> Paragraph:
        for paragraph in self.paragraphs:
            if paragraph.number == number:
                return paragraph
        raise UnknownReferenceError(f"section {self.id!r} has no paragraph {number!r}")


@dataclass(frozen=True)
class CompactVersion:
    """One edition of the Compact (or local Compacts as a whole)."""

    id: str
    label: str
    year: int | None
    scope: str
    sections: tuple[Section, ...]
    note: str | None = None

    def section(self, section_id: str) -> Section:
        for section in self.sections:
            if section.id == section_id:
                return section
        raise UnknownReferenceError(f"Compact version {self.id!r} has no section {section_id!r}")


@dataclass(frozen=True)
class BodyType:
    """A kind of respondent public body; local authorities have kinds (county, parish...)."""

    id: str
    label: str
    kinds: tuple[SubType, ...]


@dataclass(frozen=True)
class Region:
    """An English region, or `national` for a body working across England."""

    id: str
    label: str
    ons_code: str | None


@dataclass(frozen=True)
class SizeBand:
    """An annual income band in pounds: min_income inclusive, max_income exclusive."""

    id: str
    label: str
    min_income: int
    max_income: int | None

    def contains(self, income: int) -> bool:
        return income >= self.min_income and (self.max_income is None or income < self.max_income)


@dataclass(frozen=True)
class OutcomeResult:
    """The result of a closed case in the standardised outcome format."""

    id: str
    label: str
    description: str


@dataclass(frozen=True)
class Remedy:
    """A remedy obtained; `has_amount` means an amount in pounds is recorded with it."""

    id: str
    label: str
    has_amount: bool


@dataclass(frozen=True)
class ServiceStandards:
    """Time limits the service commits to (working days unless the name says otherwise)."""

    acknowledge_working_days: int
    anonymous_acknowledge_calendar_days: int
    triage_working_days: int
    respondent_reply_working_days: int
    papers_before_session_working_days: int
    feedback_to_complainant_months: int
    funding_continuity_check_months: tuple[int, ...]
    mediator_min_cpd_hours_per_year: int


class _Identified(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def label(self) -> str: ...


_T = TypeVar("_T", bound=_Identified)


def paragraph_key(version_id: str, section_id: str, number: str) -> str:
    """The stable key of a paragraph, e.g. "2010/outcome-4/4.1"."""
    return f"{version_id}/{section_id}/{number}"


@dataclass(frozen=True)
class Taxonomy:
    """All reference data, validated on construction; look things up by identifier."""

    schema_version: int
    categories: tuple[BreachCategory, ...]
    versions: tuple[CompactVersion, ...]
    body_types: tuple[BodyType, ...]
    regions: tuple[Region, ...]
    size_bands: tuple[SizeBand, ...]
    results: tuple[OutcomeResult, ...]
    remedies: tuple[Remedy, ...]
    service_standards: ServiceStandards

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise TaxonomyError("invalid Compact taxonomy:\n- " + "\n- ".join(problems))

    # Lookups: the collections are small, so a scan is clearer than an index.
    def category(self, category_id: str) -> BreachCategory:
        return _find(self.categories, category_id, "breach category")

    def body_type(self, body_type_id: str) -> BodyType:
        return _find(self.body_types, body_type_id, "body type")

    def region(self, region_id: str) -> Region:
        return _find(self.regions, region_id, "region")

    def size_band(self, size_band_id: str) -> SizeBand:
        return _find(self.size_bands, size_band_id, "size band")

    def result(self, result_id: str) -> OutcomeResult:
        return _find(self.results, result_id, "outcome result")

    def remedy(self, remedy_id: str) -> Remedy:
        return _find(self.remedies, remedy_id, "remedy")

    def version(self, version_id: str) -> CompactVersion:
        return _find(self.versions, version_id, "Compact version")

    def section(self, version_id: str, section_id: str) -> Section:
        return self.version(version_id).section(section_id)

    def paragraph(self, version_id: str, section_id: str, number: str) -> Paragraph:
        return self.section(version_id, section_id).paragraph(number)

    def paragraph_by_key(self, key: str) -> Paragraph:
        parts = key.split("/")
        if len(parts) != 3:
            raise UnknownReferenceError(f"paragraph key {key!r} is not version/section/paragraph")
        return self.paragraph(*parts)

    def default_category(
        self, version_id: str, section_id: str, number: str | None = None
    ) -> str | None:
        """The category for a citation: the paragraph's if it is listed, else the section's."""
        section = self.section(version_id, section_id)
        for paragraph in section.paragraphs:
            if paragraph.number == number:
                return paragraph.category
        return section.category

    def size_band_for_income(self, income: int) -> SizeBand:
        """The band an annual income in pounds falls into."""
        for band in self.size_bands:
            if band.contains(income):
                return band
        raise ValueError(f"income must be zero or more, not {income}")

    # Choices for forms and filters: (identifier, label) in the order of the data.
    def category_choices(self) -> list[tuple[str, str]]:
        return _choices(self.categories)

    def body_type_choices(self) -> list[tuple[str, str]]:
        return _choices(self.body_types)

    def local_authority_kind_choices(self) -> list[tuple[str, str]]:
        return _choices(self.body_type("local_authority").kinds)

    def region_choices(self) -> list[tuple[str, str]]:
        return _choices(self.regions)

    def size_band_choices(self) -> list[tuple[str, str]]:
        return _choices(self.size_bands)

    def result_choices(self) -> list[tuple[str, str]]:
        return _choices(self.results)

    def remedy_choices(self) -> list[tuple[str, str]]:
        return _choices(self.remedies)

    def version_choices(self) -> list[tuple[str, str]]:
        return _choices(self.versions)

    def section_choices(self) -> list[tuple[str, str]]:
        """("version/section", label) for citing a section without a listed paragraph."""
        return [
            (
                f"{version.id}/{section.id}",
                f"{version.label}{_DASH}{section.label}: {section.title}",
            )
            for version in self.versions
            for section in version.sections
        ]

    def paragraph_choices(self) -> list[tuple[str, str]]:
        """("version/section/paragraph", label) for every listed paragraph."""
        choices = []
        for version in self.versions:
            for section in version.sections:
                for paragraph in section.paragraphs:
                    label = f"{version.label}{_DASH}{section.label}{_DASH}{paragraph.number}: "
                    label += paragraph.summary
                    if not paragraph.confirmed:
                        label += " (paragraph number unconfirmed)"
                    key = paragraph_key(version.id, section.id, paragraph.number)
                    choices.append((key, label))
        return choices


def _find(items: Iterable[_T], wanted: str, what: str) -> _T:
    for item in items:
        if item.id == wanted:
            return item
    raise UnknownReferenceError(f"unknown {what} {wanted!r}")


def _choices(items: Iterable[_Identified]) -> list[tuple[str, str]]:
    return [(item.id, item.label) for item in items]


def _duplicates(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for identifier in ids:
        if identifier in seen and identifier not in repeated:
            repeated.append(identifier)
        seen.add(identifier)
    return repeated


def _check_ids(items: Iterable[_Identified], what: str) -> list[str]:
    items = list(items)
    if not items:
        return [f"there are no {what} entries"]
    problems = [
        f"{what} id {item.id!r} is not a valid identifier"
        for item in items
        if not _IDENTIFIER.match(item.id)
    ]
    return problems + [f"duplicate {what} id {d!r}" for d in _duplicates(i.id for i in items)]


def _problems(taxonomy: Taxonomy) -> list[str]:
    """Every inconsistency in the taxonomy, so one run reports them all."""
    t = taxonomy
    problems: list[str] = []
    if t.schema_version != SCHEMA_VERSION:
        problems.append(f"schema_version is {t.schema_version}, expected {SCHEMA_VERSION}")
    problems += _check_ids(t.categories, "breach category")
    problems += _check_ids(t.versions, "Compact version")
    problems += _check_ids(t.body_types, "body type")
    problems += _check_ids(t.regions, "region")
    problems += _check_ids(t.size_bands, "size band")
    problems += _check_ids(t.results, "outcome result")
    problems += _check_ids(t.remedies, "remedy")
    for category in t.categories:
        problems += _check_ids_if_any(category.subtypes, f"sub-type of {category.id!r}")
    for body_type in t.body_types:
        problems += _check_ids_if_any(body_type.kinds, f"kind of {body_type.id!r}")
    category_ids = {c.id for c in t.categories}
    for version in t.versions:
        if version.scope not in COMPACT_SCOPES:
            problems.append(f"version {version.id!r}: scope {version.scope!r} is not known")
        problems += _check_ids(version.sections, f"section of version {version.id!r}")
        section_ids = {s.id for s in version.sections}
        for section in version.sections:
            where = f"{version.id}/{section.id}"
            if section.kind not in SECTION_KINDS:
                problems.append(f"section {where}: kind {section.kind!r} is not known")
            if section.category is not None and section.category not in category_ids:
                problems.append(f"section {where}: unknown category {section.category!r}")
            if section.superseded_by is not None and (
                section.superseded_by not in section_ids or section.superseded_by == section.id
            ):
                problems.append(
                    f"section {where}: superseded_by {section.superseded_by!r} is wrong"
                )
            numbers = [p.number for p in section.paragraphs]
            problems += [f"duplicate paragraph {where}/{n}" for n in _duplicates(numbers)]
            for paragraph in section.paragraphs:
                key = f"{where}/{paragraph.number}"
                if not _PARAGRAPH_NUMBER.match(paragraph.number):
                    problems.append(f"paragraph {key}: number is not like 4.1")
                if paragraph.category not in category_ids:
                    problems.append(f"paragraph {key}: unknown category {paragraph.category!r}")
    problems += _size_band_problems(t.size_bands)
    standards = t.service_standards
    for name, value in vars(standards).items():
        values = value if isinstance(value, tuple) else (value,)
        if not values or any(v <= 0 for v in values):
            problems.append(f"service standard {name} must be positive")
    return problems


def _check_ids_if_any(items: tuple[SubType, ...], what: str) -> list[str]:
    return _check_ids(items, what) if items else []


def _size_band_problems(bands: tuple[SizeBand, ...]) -> list[str]:
    """Bands must start at zero and follow on without gaps or overlaps, the last open-ended."""
    problems: list[str] = []
    expected_min: int | None = 0
    for band in bands:
        if expected_min is None:
            problems.append(f"size band {band.id!r} follows an open-ended band")
        elif band.min_income != expected_min:
            problems.append(f"size band {band.id!r} should start at {expected_min}")
        if band.max_income is not None and band.max_income <= band.min_income:
            problems.append(f"size band {band.id!r} ends before it starts")
        expected_min = band.max_income
    if bands and bands[-1].max_income is not None:
        problems.append("the last size band must have no upper limit")
    return problems


class _Reader:
    """One JSON object and its path, so a structural error points at the bad value."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, Mapping):
            raise TaxonomyError(f"{where or 'taxonomy'}: expected an object")
        self._data: Mapping[str, object] = value
        self._where = where

    def _fail(self, key: str, expected: str) -> TaxonomyError:
        return TaxonomyError(f"{self._where}{'.' if self._where else ''}{key}: expected {expected}")

    def text(self, key: str) -> str:
        value = self._data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self._fail(key, "a non-empty string")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self._data.get(key) is None else self.text(key)

    def whole(self, key: str) -> int:
        value = self._data.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._fail(key, "a whole number")
        return value

    def optional_whole(self, key: str) -> int | None:
        return None if self._data.get(key) is None else self.whole(key)

    def wholes(self, key: str) -> tuple[int, ...]:
        values = self._data.get(key)
        if not isinstance(values, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in values
        ):
            raise self._fail(key, "a list of whole numbers")
        return tuple(values)

    def flag(self, key: str) -> bool:
        value = self._data.get(key)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def items(self, key: str) -> list[_Reader]:
        values = self._data.get(key)
        if not isinstance(values, list):
            raise self._fail(key, "a list")
        prefix = f"{self._where}{'.' if self._where else ''}{key}"
        return [_Reader(value, f"{prefix}[{i}]") for i, value in enumerate(values)]

    def child(self, key: str) -> _Reader:
        return _Reader(self._data.get(key), f"{self._where}{'.' if self._where else ''}{key}")

    def subtypes(self, key: str) -> tuple[SubType, ...]:
        return tuple(SubType(r.text("id"), r.text("label")) for r in self.items(key))


def _section(r: _Reader) -> Section:
    return Section(
        id=r.text("id"),
        kind=r.text("kind"),
        label=r.text("label"),
        title=r.text("title"),
        category=r.optional_text("category"),
        paragraphs=tuple(
            Paragraph(p.text("number"), p.text("summary"), p.text("category"), p.flag("confirmed"))
            for p in r.items("paragraphs")
        ),
        year=r.optional_whole("year"),
        superseded_by=r.optional_text("superseded_by"),
        note=r.optional_text("note"),
    )


def taxonomy_from_dict(data: object) -> Taxonomy:
    """Build and validate a taxonomy from decoded JSON; raise TaxonomyError if it is wrong."""
    root = _Reader(data, "")
    schema_version = root.whole("schema_version")
    if schema_version != SCHEMA_VERSION:
        raise TaxonomyError(f"schema_version is {schema_version}, expected {SCHEMA_VERSION}")
    s = root.child("service_standards")
    return Taxonomy(
        schema_version=schema_version,
        categories=tuple(
            BreachCategory(
                r.text("id"), r.text("label"), r.text("description"), r.subtypes("subtypes")
            )
            for r in root.items("categories")
        ),
        versions=tuple(
            CompactVersion(
                id=r.text("id"),
                label=r.text("label"),
                year=r.optional_whole("year"),
                scope=r.text("scope"),
                sections=tuple(_section(section) for section in r.items("sections")),
                note=r.optional_text("note"),
            )
            for r in root.items("versions")
        ),
        body_types=tuple(
            BodyType(r.text("id"), r.text("label"), r.subtypes("kinds"))
            for r in root.items("body_types")
        ),
        regions=tuple(
            Region(r.text("id"), r.text("label"), r.optional_text("ons_code"))
            for r in root.items("regions")
        ),
        size_bands=tuple(
            SizeBand(
                r.text("id"), r.text("label"), r.whole("min_income"), r.optional_whole("max_income")
            )
            for r in root.items("size_bands")
        ),
        results=tuple(
            OutcomeResult(r.text("id"), r.text("label"), r.text("description"))
            for r in root.items("outcome_results")
        ),
        remedies=tuple(
            Remedy(r.text("id"), r.text("label"), r.flag("has_amount"))
            for r in root.items("remedies")
        ),
        service_standards=ServiceStandards(
            acknowledge_working_days=s.whole("acknowledge_working_days"),
            anonymous_acknowledge_calendar_days=s.whole("anonymous_acknowledge_calendar_days"),
            triage_working_days=s.whole("triage_working_days"),
            respondent_reply_working_days=s.whole("respondent_reply_working_days"),
            papers_before_session_working_days=s.whole("papers_before_session_working_days"),
            feedback_to_complainant_months=s.whole("feedback_to_complainant_months"),
            funding_continuity_check_months=s.wholes("funding_continuity_check_months"),
            mediator_min_cpd_hours_per_year=s.whole("mediator_min_cpd_hours_per_year"),
        ),
    )


def read_taxonomy_json() -> object:
    """The shipped taxonomy as decoded JSON (useful to build variants in tests)."""
    text = resources.files(DATA_PACKAGE).joinpath(TAXONOMY_RESOURCE).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaxonomyError(f"{TAXONOMY_RESOURCE} is not valid JSON: {exc}") from exc


@lru_cache(maxsize=1)
def load_taxonomy() -> Taxonomy:
    """The shipped taxonomy, read and validated once per process."""
    return taxonomy_from_dict(read_taxonomy_json())
