"""Parse and validate a CSV list of respondent public bodies against the taxonomy."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from mediation.domain.taxonomy import (
    COMPACT_SCOPES,
    DATA_PACKAGE,
    Taxonomy,
    UnknownReferenceError,
    load_taxonomy,
)

COLUMNS = ("name", "type", "region", "local_authority_kind", "compact")
BODIES_RESOURCE = "respondent_bodies.csv"


@dataclass(frozen=True)
class BodyRow:
    """One public body: its type, region, local authority kind and which Compact applies."""

    name: str
    type: str
    region: str
    local_authority_kind: str | None
    compact: str


@dataclass(frozen=True)
class CsvProblem:
    """Why one line of the file was rejected (line 1 is the header)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class BodiesCsvError(ValueError):
    """The CSV has bad lines; `problems` lists each one with its line number."""

    def __init__(self, problems: Sequence[CsvProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        heading = f"respondent bodies CSV has {count} problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([heading, *(str(p) for p in self.problems)]))


def _normal_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def _row_problems(fields: dict[str, str], taxonomy: Taxonomy) -> list[str]:
    problems: list[str] = []
    if not fields["name"]:
        problems.append("missing name")
    kinds: list[str] = []
    try:
        kinds = [kind.id for kind in taxonomy.body_type(fields["type"]).kinds]
    except UnknownReferenceError:
        problems.append(f"unknown type {fields['type']!r}" if fields["type"] else "missing type")
    try:
        taxonomy.region(fields["region"])
    except UnknownReferenceError:
        problems.append(
            f"unknown region {fields['region']!r}" if fields["region"] else "missing region"
        )
    kind = fields["local_authority_kind"]
    if kinds and kind not in kinds:
        problems.append(
            f"unknown local_authority_kind {kind!r} (expected one of {', '.join(kinds)})"
            if kind
            else f"missing local_authority_kind (expected one of {', '.join(kinds)})"
        )
    elif not kinds and kind:
        problems.append(f"local_authority_kind {kind!r} is only for local authorities")
    if fields["compact"] not in COMPACT_SCOPES:
        problems.append(f"compact must be national or local, not {fields['compact']!r}")
    return problems


def parse_bodies_csv(text: str, taxonomy: Taxonomy) -> list[BodyRow]:
    """Every body in the file, or BodiesCsvError naming each bad line and why."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    problems: list[CsvProblem] = []
    bodies: list[BodyRow] = []
    first_seen: dict[str, int] = {}
    try:
        header = next(reader, None)
        if header is None or tuple(c.strip().lower() for c in header) != COLUMNS:
            found = ",".join(header) if header else "nothing"
            raise BodiesCsvError(
                [CsvProblem(1, f"the header must be {','.join(COLUMNS)}; found {found}")]
            )
        previous_end = reader.line_num
        for row in reader:
            # A quoted field may span lines: report the line where the record starts.
            line, previous_end = previous_end + 1, reader.line_num
            if not row or all(not value.strip() for value in row):
                continue
            if len(row) != len(COLUMNS):
                problems.append(
                    CsvProblem(line, f"expected {len(COLUMNS)} fields, found {len(row)}")
                )
                continue
            fields = {column: value.strip() for column, value in zip(COLUMNS, row, strict=True)}
            messages = _row_problems(fields, taxonomy)
            key = _normal_name(fields["name"])
            if key and key in first_seen:
                messages.append(
                    f"duplicate name {fields['name']!r} (first on line {first_seen[key]})"
                )
            elif key:
                first_seen[key] = line
            problems += [CsvProblem(line, message) for message in messages]
            if not messages:
                bodies.append(
                    BodyRow(
                        name=" ".join(fields["name"].split()),
                        type=fields["type"],
                        region=fields["region"],
                        local_authority_kind=fields["local_authority_kind"] or None,
                        compact=fields["compact"],
                    )
                )
    except csv.Error as exc:
        problems.append(CsvProblem(reader.line_num, f"unreadable CSV: {exc}"))
    if problems:
        raise BodiesCsvError(problems)
    return bodies


def read_shipped_bodies_csv() -> str:
    """The text of the fictional respondent bodies shipped with the package."""
    return resources.files(DATA_PACKAGE).joinpath(BODIES_RESOURCE).read_text(encoding="utf-8")


def load_shipped_bodies(taxonomy: Taxonomy | None = None) -> list[BodyRow]:
    """The shipped respondent bodies, parsed and validated."""
    return parse_bodies_csv(read_shipped_bodies_csv(), taxonomy or load_taxonomy())
