"""Triage links a case to its organisation's statistics pseudonym, so that a release counts
an organisation once however many complaints it makes, without storing its name."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from mediation.domain.statistics_periods import Period
from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.statistics import OrganisationPseudonym
from mediation.services import statistical_records, triage
from mediation.services.statistics_inputs import collect_inputs, unlock_statistics
from tests import seeded
from tests.casework.conftest import Driver


def triage_with_key(driver: Driver, case) -> None:  # type: ignore[no-untyped-def]
    triage.record_triage(
        db.session,
        driver.s.officer,
        case,
        categories=["funding_change"],
        respondent_body_id=driver.s.body_id,
        officer_key=driver.s.officer_key,
    )
    db.session.commit()


def test_two_complaints_from_one_organisation_count_once(driver: Driver) -> None:
    first = driver.file(identity=dict(seeded.IDENTITY))
    spelt_otherwise = dict(seeded.IDENTITY)
    spelt_otherwise["organisation"] = "  " + seeded.IDENTITY["organisation"].upper() + " "
    second = driver.file(identity=spelt_otherwise)
    anonymous = driver.file(openness="anonymous")
    for filed in (first, second, anonymous):
        statistical_records.record_at_intake(
            db.session,
            filed.case,
            categories=["funding_change"],
            body_type="local_authority",
            region="north_west",
            size_band="micro",
        )
        triage_with_key(driver, filed.case)
    assert len(db.session.execute(select(OrganisationPseudonym)).scalars().all()) == 1
    keys = unlock_statistics(db.session, driver.s.officer_key)
    year = Period(date.today().year)
    units = {c.unit for c in collect_inputs(db.session, keys, year).cases}
    assert len(units) == 2  # the organisation once, the anonymous case as its own
    linked = db.session.execute(
        select(AuditEntry).where(AuditEntry.case_reference == first.reference)
    ).scalars()
    assert seeded.IDENTITY["organisation"] not in " ".join(str(e.details) for e in linked)


def test_triage_without_a_key_links_nothing_and_changes_nothing_else(driver: Driver) -> None:
    filed = driver.file()
    driver.triaged(filed.case)  # the command-line and older callers pass no key
    assert db.session.execute(select(OrganisationPseudonym)).first() is None
