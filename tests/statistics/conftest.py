"""Fixtures for the statistics tests: taxonomy dimensions, random case data for property
tests, an independent (slow, obvious) reference count, and a case officer with a key."""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from hypothesis import strategies as st

from mediation.domain.statistics_periods import Period
from mediation.domain.statistics_tables import (
    ALL,
    NOT_RECORDED,
    CaseStatistics,
    Dimensions,
    resolution_band,
)
from mediation.extensions import db
from mediation.models.staff import StaffUser
from mediation.services import keyring
from mediation.services.demo_statistics import HistoricCase, insert_historic_cases
from mediation.services.statistics_inputs import StatisticsKeys, unlock_statistics
from mediation.vault import KeyPair
from tests.conftest import TEST_PASSWORD, StaffFactory

# Small dimension sets in property tests, so small cells and suppression are common.
SMALL_DIMS = Dimensions(
    regions=("north_east", "london", "south_west"),
    body_types=("local_authority", "nhs_body", "grant_distributor"),
    categories=("funding_process", "consultation", "independence"),
    results=("breach_acknowledged", "not_upheld", "withdrawn"),
)
YEAR = 2025


@st.composite
def case_lists(draw: st.DrawFn, max_cases: int = 160, year: int = YEAR) -> list[CaseStatistics]:
    """Cases of a year: some organisations with several cases, a few bodies, small cells.

    Hypothesis draws the shape (how many cases, organisations and bodies, how often values
    are missing) and a seed; the cases themselves come from the seed, which keeps each
    example cheap enough for hundreds of cases."""
    count = draw(st.integers(min_value=0, max_value=max_cases))
    organisations = draw(st.integers(min_value=1, max_value=max(1, count)))
    bodies = draw(st.integers(min_value=1, max_value=8))
    shared_share = draw(st.floats(min_value=0, max_value=1))
    missing = draw(st.floats(min_value=0, max_value=0.5))
    open_share = draw(st.floats(min_value=0, max_value=0.5))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))

    def maybe(values: Sequence[str]) -> str | None:
        return None if rng.random() < missing else rng.choice(values)

    cases = []
    for i in range(count):
        if rng.random() < shared_share:
            unit = f"org:{rng.randrange(organisations)}"
            # An organisation keeps one record key, as the pseudonym table does.
            unit_key = int(hashlib.sha256(unit.encode()).hexdigest()[:8], 16) % 2**31
        else:
            unit, unit_key = f"case:{i}", rng.randrange(2**31)
        submitted = date(year, 1, 1) + timedelta(days=rng.randrange(365))
        closed = None
        if rng.random() >= open_share:
            closed = submitted + timedelta(days=rng.randrange(401))
        cases.append(
            CaseStatistics(
                unit=unit,
                unit_key=unit_key,
                body=None if rng.random() < missing else rng.randrange(bodies),
                body_type=maybe(SMALL_DIMS.body_types),
                region=maybe(SMALL_DIMS.regions),
                categories=tuple(rng.sample(SMALL_DIMS.categories, rng.choice((0, 1, 1, 1, 2)))),
                result=maybe(SMALL_DIMS.results),
                submitted_on=submitted,
                closed_on=closed,
            )
        )
    return cases


def reference_cells(
    cases: Sequence[CaseStatistics], period: Period
) -> dict[str, tuple[set[str], dict[int, set[str]]]]:
    """Cell id -> (organisations, organisations per body), by the plainest possible logic,
    to check the fast tally against."""
    cells: dict[str, tuple[set[str], dict[int, set[str]]]] = defaultdict(
        lambda: (set(), defaultdict(set))
    )
    year = str(period.year)
    yearly = period.quarter is None

    def add(cell: str, case: CaseStatistics) -> None:
        units, bodies = cells[cell]
        units.add(case.unit)
        if case.body is not None:
            bodies[case.body].add(case.unit)

    for case in cases:
        if period.contains(case.submitted_on):
            quarter = f"{case.submitted_on.year}-Q{(case.submitted_on.month - 1) // 3 + 1}"
            add(f"received|{quarter}", case)
            if yearly:
                add(f"received|{year}", case)
        if case.closed_on is None or not period.contains(case.closed_on):
            continue
        quarter = f"{case.closed_on.year}-Q{(case.closed_on.month - 1) // 3 + 1}"
        add(f"closed|{quarter}", case)
        if not yearly:
            continue
        add(f"closed|{year}", case)
        region = case.region if case.region in SMALL_DIMS.regions else NOT_RECORDED
        add(f"closed|{year}|region={region}", case)
        kind = case.body_type if case.body_type in SMALL_DIMS.body_types else NOT_RECORDED
        add(f"closed|{year}|body_type={kind}", case)
        band = resolution_band((case.closed_on - case.submitted_on).days)
        add(f"closed|{year}|band={band}", case)
        outcome = case.result if case.result in SMALL_DIMS.results else NOT_RECORDED
        add(f"closed|{year}|outcome={outcome}", case)
        for category in [c for c in case.categories if c in SMALL_DIMS.categories] or [
            NOT_RECORDED
        ]:
            add(f"closed|{year}|category={category}", case)
            add(f"closed|{year}|category={category}|outcome={outcome}", case)
    return cells


def row_cell(table: str, row: dict[str, object], period: Period) -> str:
    """The cell id of a published row, written out independently of row_cell_id."""
    if table == "national_by_quarter":
        quarter = str(row["quarter"])
        return f"{row['measure']}|{period.year if quarter == ALL else quarter}"
    parts = [f"closed|{row['year']}"]
    for dim in ("band", "body_type", "category", "outcome", "region"):
        if dim in row and row[dim] != ALL:
            parts.append(f"{dim}={row[dim]}")
    return "|".join(parts)


@dataclass
class Officer:
    user: StaffUser
    key: KeyPair
    email: str


@pytest.fixture
def officer(app: Flask, make_staff: StaffFactory) -> Iterator[Officer]:
    login = make_staff("case_officer")
    with app.app_context():
        user = db.session.get(StaffUser, login.id)
        assert user is not None
        key = keyring.unlock(db.session, user, TEST_PASSWORD)
        assert key is not None
        yield Officer(user, key, login.email)


def historic(
    submitted: date,
    closed: date | None,
    *,
    region: str = "london",
    body_id: int | None = None,
    body_type: str = "local_authority",
    categories: tuple[str, ...] = ("funding_process",),
    result: str = "breach_acknowledged",
    organisation: str | None = None,
    record_key: int = 0,
) -> HistoricCase:
    return HistoricCase(
        submitted_on=submitted,
        closed_on=closed,
        body_id=body_id,
        body_type=body_type,
        region=region,
        size_band="small",
        categories=categories,
        result=result,
        organisation=organisation,
        organisation_key=record_key if organisation else None,
        anonymous=organisation is None,
        record_key=record_key,
    )


def add_cases(officer: Officer, cases: Sequence[HistoricCase]) -> StatisticsKeys:
    keys = unlock_statistics(db.session, officer.key)
    insert_historic_cases(db.session, keys, cases, destroyed_on=date(2026, 1, 1))
    db.session.commit()
    return keys
