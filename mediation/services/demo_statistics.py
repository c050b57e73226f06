"""Demonstration statistics: thousands of closed cases over several years, and releases.

The cases are historical: closed, their keys already destroyed (as retention does), so only
their sealed statistical records remain. They are written in bulk, straight into the
tables, with each record sealed under the symmetric statistics key like any record that a
release has already opened once.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mediation.domain.statistics_periods import Period
from mediation.domain.taxonomy import load_taxonomy
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case
from mediation.models.releases import StatisticsRelease
from mediation.models.statistics import OrganisationPseudonym, StatisticalRecord
from mediation.services import accounts, keyring
from mediation.services.complaints import new_reference
from mediation.services.statistics_inputs import (
    StatisticsKeys,
    amend_statistical_record,
    record_context,
    record_plaintext,
    unlock_statistics,
)
from mediation.services.statistics_releases import ReleaseRefused, publish_release
from mediation.vault import encrypt_symmetric

DEMO_OFFICER = ("caseofficer@demo.example.org", "demo-case-officer")
YEARS = 5
CASES_PER_YEAR = 1500
BATCH = 2000


@dataclass(frozen=True)
class HistoricCase:
    """A closed case as statistics see it; `organisation` is a pseudonym or None."""

    submitted_on: date
    closed_on: date | None
    body_id: int | None
    body_type: str | None
    region: str | None
    size_band: str | None
    categories: tuple[str, ...]
    result: str | None
    organisation: str | None
    organisation_key: int | None
    anonymous: bool
    record_key: int
    state: str = "closed"


def _fresh_references(session: Session, count: int) -> list[str]:
    made: set[str] = set()
    while len(made) < count:
        made.update(new_reference() for _ in range(count - len(made)))
        taken = set(
            session.execute(select(Case.reference).where(Case.reference.in_(made))).scalars()
        )
        made -= taken
    return sorted(made)


def insert_historic_cases(
    session: Session, keys: StatisticsKeys, cases: Sequence[HistoricCase], destroyed_on: date
) -> list[str]:
    """Write cases and their sealed statistical records in bulk; returns their references in
    the same order. Caller commits."""
    suite = str(current_app.config["VAULT_SUITE"])
    written: list[str] = []
    for start in range(0, len(cases), BATCH):
        batch = cases[start : start + BATCH]
        references = _fresh_references(session, len(batch))
        written += references
        # Core inserts (not ORM ones): thousands of rows at a time, in one executemany.
        session.execute(
            insert(Case.__table__),
            [
                {
                    "reference": reference,
                    "openness": "anonymous" if case.anonymous else "confidential",
                    "state": case.state,
                    "urgent": False,
                    "respondent_body_id": case.body_id,
                    "submitted_on": case.submitted_on,
                    "closed_on": case.closed_on,
                    "keys_destroyed_on": destroyed_on,
                    "record_key": case.record_key,
                    "suite": suite,
                    "complainant_salt": b"",
                    "complainant_suite": suite,
                    "complainant_public_key": b"",
                    "complainant_key_id": "",
                    "complainant_kdf": {},
                }
                for reference, case in zip(references, batch, strict=True)
            ],
        )
        ids = dict(
            session.execute(
                select(Case.reference, Case.id).where(Case.reference.in_(references))
            ).all()
        )
        records = []
        for reference, case in zip(references, batch, strict=True):
            content: dict[str, Any] = {
                "categories": sorted(set(case.categories)),
                "body_type": case.body_type,
                "region": case.region,
                "size_band": case.size_band,
                "submitted_on": case.submitted_on.isoformat(),
                "anonymous": case.anonymous,
                "result": case.result,
            }
            if case.organisation:
                content["organisation"] = case.organisation
                content["organisation_key"] = case.organisation_key
            plain = record_plaintext(content)
            records.append(
                {
                    "case_id": ids[reference],
                    "symmetric": encrypt_symmetric(
                        plain, keys.current_symmetric, record_context(reference)
                    ),
                    "symmetric_key_id": keys.current_symmetric_id,
                }
            )
        session.execute(insert(StatisticalRecord.__table__), records)
    return written


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


CATEGORY_WEIGHTS = {
    "funding_process": 40.0,
    "funding_change": 22.0,
    "consultation": 16.0,
    "independence": 6.0,
    "equality": 5.0,
    "local_clause": 5.0,
    "community_groups": 3.0,
    "victimisation": 2.0,
    "volunteering": 1.0,
}
RESULT_WEIGHTS = {
    "breach_acknowledged": 18.0,
    "breach_partly_acknowledged": 14.0,
    "not_upheld": 12.0,
    "mediated_agreement_full": 16.0,
    "mediated_agreement_partial": 9.0,
    "resolved_informally": 15.0,
    "no_agreement_referred": 5.0,
    "withdrawn": 6.0,
    "out_of_scope": 5.0,
}
REGION_WEIGHTS = {
    "london": 18.0,
    "north_west": 13.0,
    "south_east": 12.0,
    "yorkshire_humber": 10.0,
    "west_midlands": 10.0,
    "east_of_england": 8.0,
    "south_west": 8.0,
    "east_midlands": 7.0,
    "north_east": 5.0,
    "national": 4.0,
}


def generate_cases(
    rng: random.Random, bodies: Sequence[tuple[int, str]], first: date, last: date, count: int
) -> list[HistoricCase]:
    """A plausible history: funding complaints dominate, most close within a few months,
    some organisations complain more than once, a fifth complain anonymously."""
    taxonomy = load_taxonomy()
    categories = {
        k: v for k, v in CATEGORY_WEIGHTS.items() if k in {c.id for c in taxonomy.categories}
    }
    results = {k: v for k, v in RESULT_WEIGHTS.items() if k in {r.id for r in taxonomy.results}}
    regions = {k: v for k, v in REGION_WEIGHTS.items() if k in {r.id for r in taxonomy.regions}}
    sizes = {"micro": 30.0, "small": 35.0, "medium": 22.0, "large": 10.0, "major": 3.0}
    # Larger bodies (local authorities, distributors) attract more complaints.
    body_weights = [
        3.0 if kind in {"local_authority", "grant_distributor"} else 1.0 for _, kind in bodies
    ]
    organisations: list[tuple[str, int, str, str]] = []
    made = []
    span = (last - first).days
    for _ in range(count):
        submitted = first + timedelta(days=int(span * rng.random() ** 0.85))
        duration = int(rng.lognormvariate(4.1, 0.7))
        closed = submitted + timedelta(days=duration)
        if closed >= last:
            continue
        anonymous = rng.random() < 0.2
        organisation = organisation_key = None
        region = _weighted(rng, regions)
        size = _weighted(rng, sizes)
        record_key = secrets.randbelow(2**31)
        if not anonymous:
            if organisations and rng.random() < 0.25:
                organisation, organisation_key, region, size = rng.choice(organisations)
            else:
                # The organisation's own random key, never its first case's.
                organisation = secrets.token_hex(8)
                organisation_key = secrets.randbelow(2**31)
                organisations.append((organisation, organisation_key, region, size))
        body_id, body_type = rng.choices(bodies, weights=body_weights)[0]
        picked = {_weighted(rng, categories)}
        if rng.random() < 0.25:
            picked.add(_weighted(rng, categories))
        made.append(
            HistoricCase(
                submitted_on=submitted,
                closed_on=closed,
                body_id=body_id,
                body_type=body_type,
                region=None if anonymous and rng.random() < 0.5 else region,
                size_band=None if anonymous else size,
                categories=tuple(sorted(picked)),
                result=_weighted(rng, results),
                organisation=organisation,
                organisation_key=organisation_key,
                anonymous=anonymous,
                record_key=record_key,
            )
        )
    return made


def load(session: Session) -> str:
    """Load the statistical demo data; returns a short summary for the CLI."""
    if session.execute(select(StatisticsRelease.id).limit(1)).first() is not None:
        return "demo statistics already loaded"
    email, password = DEMO_OFFICER
    officer = accounts.find_by_email(session, email)
    officer_key = keyring.unlock(session, officer, password) if officer else None
    if officer is None or officer_key is None:
        return "no demo statistics (the demo case officer is missing)"
    keys = unlock_statistics(session, officer_key)
    bodies = [
        (row[0], row[1])
        for row in session.execute(
            select(RespondentBody.id, RespondentBody.body_type).order_by(RespondentBody.id)
        )
    ]
    today = date.today()
    first = date(today.year - YEARS, 1, 1)
    rng = random.Random(7)  # noqa: S311  (demo figures, not secrets)
    cases = generate_cases(rng, bodies, first, today, CASES_PER_YEAR * YEARS)
    # Some outcomes of the last full year are recorded late: the year's release is then
    # corrected, as a new version with a note.
    late_year = today.year - 1
    late = [
        i
        for i, case in enumerate(cases)
        if case.closed_on and case.closed_on.year == late_year and rng.random() < 0.04
    ]
    late_results = {i: cases[i].result for i in late}
    for i in late:
        cases[i] = replace(cases[i], result=None)
    references = insert_historic_cases(session, keys, cases, destroyed_on=today)
    _record_pseudonyms(session, keys, cases, today)
    session.flush()
    published = _publish_history(session, officer, officer_key, today)
    late_release = Period(late_year).end + timedelta(days=30)
    if late and late_release < today:
        for i in late:
            case = session.execute(select(Case).where(Case.reference == references[i])).scalar_one()
            amend_statistical_record(session, keys, case, result=late_results[i])
        try:
            publish_release(
                session,
                officer,
                officer_key,
                str(late_year),
                correction=True,
                note=f"The outcomes of {len(late)} complaints closed in {late_year} were "
                "recorded after the first version was published.",
                today=min(today - timedelta(days=1), late_release + timedelta(days=45)),
            )
            published += 1
        except ReleaseRefused:
            pass  # the late outcomes happened not to move any published figure
    return f"{len(cases)} historical cases for statistics, {published} releases"


def _record_pseudonyms(
    session: Session, keys: StatisticsKeys, cases: Sequence[HistoricCase], today: date
) -> None:
    """Pseudonym rows for the demo organisations (their names are unknown: random digests)."""
    seen: dict[str, int] = {}
    for case in cases:
        if case.organisation and case.organisation_key is not None:
            seen.setdefault(case.organisation, case.organisation_key)
    session.execute(
        insert(OrganisationPseudonym.__table__),
        [
            {
                "name_digest": secrets.token_hex(32),
                "digest_key_id": keys.current_symmetric_id,
                "pseudonym": pseudonym,
                "record_key": record_key,
                "created_on": today,
            }
            for pseudonym, record_key in seen.items()
        ],
    )


def _publish_history(session: Session, officer: Any, officer_key: Any, today: date) -> int:
    """Releases as the service would have published them: each quarter a month after it
    ended, each year with its fourth quarter, and one correction."""
    periods: list[Period] = []
    for year in range(today.year - YEARS, today.year + 1):
        for quarter in Period(year).quarters():
            if quarter.end + timedelta(days=30) < today:
                periods.append(quarter)
        if Period(year).end + timedelta(days=30) < today:
            periods.append(Period(year))
    for period in periods:
        publish_release(
            session, officer, officer_key, period.label, today=period.end + timedelta(days=30)
        )
    return len(periods)
