"""Reading published releases: checked against their SHA-256, served as JSON and CSV,
compared across releases. Touches only the releases table: never a case."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.domain.disclosure_control import PERCENTAGE_MIN_DENOMINATOR
from mediation.domain.statistics_periods import YEAR, period_from_label
from mediation.domain.statistics_tables import ALL, CATALOGUE
from mediation.models.releases import StatisticsRelease
from mediation.services.errors import NotFound, ServiceError
from mediation.services.statistics_releases import content_sha256

# Dimension columns in the order the CSV of a whole release uses.
DIMENSION_ORDER: tuple[str, ...] = (
    "quarter",
    "year",
    "measure",
    "region",
    "body_type",
    "category",
    "outcome",
    "band",
)


class ReleaseNotFound(NotFound):
    default_message = "There is no statistics release with that id."


class ReleaseTampered(ServiceError):
    default_message = (
        "This release failed its checksum: it was altered after publication, so it is not "
        "shown. The service's operators have been told."
    )


@dataclass(frozen=True)
class PublishedRelease:
    """A stored release, read back and verified."""

    id: str
    period: str
    period_kind: str
    version: int
    published_on: date
    sha256: str
    inputs_sha256: str
    note: str | None
    supersedes: str | None
    superseded_by: str | None
    epsilon: float | None
    median_days_to_resolution: int | None
    tables: list[dict[str, Any]]

    @property
    def is_current(self) -> bool:
        return self.superseded_by is None

    @property
    def is_annual(self) -> bool:
        return self.period_kind == YEAR

    def table(self, name: str) -> dict[str, Any] | None:
        for table in self.tables:
            if table["name"] == name:
                return table
        return None

    def row(self, table: str, **dims: str) -> dict[str, Any] | None:
        found = self.table(table)
        for row in found["rows"] if found else []:
            if all(str(row.get(d)) == v for d, v in dims.items()):
                return dict(row)
        return None

    def count(self, table: str, **dims: str) -> int | None:
        row = self.row(table, **dims)
        return None if row is None else row["count"]


def _sort_key(release: StatisticsRelease) -> tuple[date, int, int]:
    period = period_from_label(release.period)
    # Newest period first; for the same end date the year before its last quarter.
    return (period.end, 1 if period.quarter is None else 0, release.version)


def _read(
    release: StatisticsRelease, id_by_pk: dict[int, str], successor: dict[int, str]
) -> PublishedRelease:
    content = json.loads(release.content)
    if content_sha256(content) != release.sha256:
        raise ReleaseTampered()
    return PublishedRelease(
        id=release.release_id,
        period=release.period,
        period_kind=release.period_kind,
        version=release.version,
        published_on=release.published_on,
        sha256=release.sha256,
        inputs_sha256=release.inputs_sha256,
        note=release.note,
        supersedes=id_by_pk.get(release.supersedes_id) if release.supersedes_id else None,
        superseded_by=successor.get(release.id),
        epsilon=release.epsilon,
        median_days_to_resolution=content.get("median_days_to_resolution"),
        tables=content["tables"],
    )


def all_releases(session: Session) -> list[PublishedRelease]:
    """Every release, every version, newest period first; each checked against its hash."""
    rows = list(session.execute(select(StatisticsRelease)).scalars())
    id_by_pk = {row.id: row.release_id for row in rows}
    successor = {row.supersedes_id: row.release_id for row in rows if row.supersedes_id}
    rows.sort(key=_sort_key, reverse=True)
    return [_read(row, id_by_pk, successor) for row in rows]


def current_releases(session: Session) -> list[PublishedRelease]:
    """The latest version of each period's release."""
    return [release for release in all_releases(session) if release.is_current]


def get_release(session: Session, release_id: str) -> PublishedRelease:
    for release in all_releases(session):
        if release.id == release_id:
            return release
    raise ReleaseNotFound()


def latest_release(session: Session, *, annual: bool = False) -> PublishedRelease | None:
    """The current release of the most recent period (a year beats its own fourth quarter)."""
    for release in current_releases(session):
        if release.is_annual or not annual:
            return release
    return None


def release_document(release: PublishedRelease) -> dict[str, Any]:
    """The open-data JSON: `release` (id, period, published, sha256...) and `tables`."""
    return {
        "release": {
            "id": release.id,
            "period": release.period,
            "period_kind": release.period_kind,
            "version": release.version,
            "published": release.published_on.isoformat(),
            "sha256": release.sha256,
            "supersedes": release.supersedes,
            "superseded_by": release.superseded_by,
            "note": release.note,
            "median_days_to_resolution": release.median_days_to_resolution,
            "differential_privacy_epsilon": release.epsilon,
        },
        "tables": release.tables,
    }


def release_csv(release: PublishedRelease, table: str | None = None) -> str:
    """A release's tables as CSV: one line per table row, its dimensions, count (empty
    where suppressed) and suppressed (true or false). ReleaseNotFound for an unknown table."""
    if table is not None and release.table(table) is None:
        raise ReleaseNotFound("This release has no table of that name.")
    return releases_csv([release], table)


def releases_csv(releases: Sequence[PublishedRelease], table: str | None = None) -> str:
    """Several releases in one CSV, with every dimension any of their tables has."""
    chosen = [
        (release, t)
        for release in releases
        for t in release.tables
        if table is None or t["name"] == table
    ]
    used = {d for _, t in chosen for d in t["dimensions"]}
    dimensions = [d for d in DIMENSION_ORDER if d in used]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["release", "period", "table", *dimensions, "count", "suppressed"])
    for release, t in chosen:
        for row in t["rows"]:
            count = "" if row["count"] is None else str(row["count"])
            writer.writerow(
                [release.id, release.period, t["name"]]
                + [row.get(d, "") for d in dimensions]
                + [count, "true" if row["suppressed"] else "false"]
            )
    return buffer.getvalue()


@dataclass(frozen=True)
class CellChange:
    """One figure in two releases, keyed by table and the dimensions other than time."""

    table: str
    dimensions: tuple[tuple[str, str], ...]
    before: int | None
    after: int | None

    @property
    def change(self) -> int | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def percent_change(self) -> int | None:
        """Only between published counts, and over a base of at least 20."""
        change, base = self.change, self.before
        if change is None or base is None or base < PERCENTAGE_MIN_DENOMINATOR:
            return None
        share = (200 * abs(change) + base) // (2 * base)
        return share if change >= 0 else -share


def _comparable_key(table: dict[str, Any], row: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    key = []
    for dim in table["dimensions"]:
        value = str(row[dim])
        if dim == "year":
            continue
        if dim == "quarter" and value != ALL:
            value = value.partition("-")[2]
        key.append((dim, value))
    return tuple(key)


def compare_releases(before: PublishedRelease, after: PublishedRelease) -> list[CellChange]:
    """Figure by figure: two versions of one period, or the same quarter or year apart."""
    changes = []
    for spec in CATALOGUE:
        old, new = before.table(spec.name), after.table(spec.name)
        if old is None or new is None:
            continue
        old_rows = {_comparable_key(old, row): row["count"] for row in old["rows"]}
        for row in new["rows"]:
            key = _comparable_key(new, row)
            if key in old_rows:
                changes.append(CellChange(spec.name, key, old_rows[key], row["count"]))
    return changes


def comparison_csv(before: PublishedRelease, after: PublishedRelease) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["table", "dimensions", before.id, after.id, "change"])
    for change in compare_releases(before, after):
        dims = ";".join(f"{d}={v}" for d, v in change.dimensions)
        writer.writerow(
            [
                change.table,
                dims,
                "" if change.before is None else change.before,
                "" if change.after is None else change.after,
                "" if change.change is None else change.change,
            ]
        )
    return buffer.getvalue()


@dataclass(frozen=True)
class QuarterPoint:
    quarter: str
    received: int | None
    closed: int | None
    release_id: str


def quarterly_series(releases: Sequence[PublishedRelease]) -> list[QuarterPoint]:
    """The national series, one point per quarter, from the current releases; where a
    quarter is in two (its own and its year's), the more recent release gives it."""
    points: dict[str, QuarterPoint] = {}
    for release in sorted(releases, key=lambda r: (r.published_on, r.id)):
        if not release.is_current:
            continue
        table = release.table("national_by_quarter")
        if table is None:
            continue
        quarters = {row["quarter"] for row in table["rows"] if row["quarter"] != ALL}
        for quarter in quarters:
            points[quarter] = QuarterPoint(
                quarter,
                release.count("national_by_quarter", quarter=quarter, measure="received"),
                release.count("national_by_quarter", quarter=quarter, measure="closed"),
                release.id,
            )
    return [points[q] for q in sorted(points)]
