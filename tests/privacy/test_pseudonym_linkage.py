"""No readable value links two cases of one organisation, or a pseudonym to a case (G11)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from mediation.domain.statistics_periods import Period
from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.statistics import OrganisationPseudonym
from mediation.services import statistical_records
from mediation.services.organisation_pseudonyms import set_organisation_pseudonym
from mediation.services.statistics_inputs import collect_inputs, unlock_statistics
from tests import seeded
from tests.statistics.conftest import Officer

NAMES = {
    "ravensmoor": [
        "Ravensmoor Tenants Advice Collective",
        "The Ravensmoor tenants' advice collective Ltd",
    ],
    "harbour": ["Harbour Lights Youth Club"],
}


def _file(name: str) -> Case:
    filed = seeded.file_seeded(organisation=name)
    filed.case.submitted_on = date(2025, 1, 10)
    filed.case.closed_on = date(2025, 6, 1)
    statistical_records.record_at_intake(
        db.session, filed.case, categories=[], body_type=None, region="london", size_band=None
    )
    return filed.case


def _readable_values(exclude: str) -> list[tuple[str, str, object]]:
    """Every value of every readable column of every table but `exclude`."""
    found = []
    for table in db.metadata.sorted_tables:
        if table.name == exclude:
            continue
        for row in db.session.execute(select(table)).mappings():
            for column, value in row.items():
                if value is not None and not isinstance(value, bytes | bytearray | memoryview):
                    found.append((table.name, column, value))
    return found


def test_an_organisations_pseudonym_and_record_key_name_none_of_its_cases(
    officer: Officer,
) -> None:
    cases: dict[str, list[Case]] = {}
    for organisation, names in NAMES.items():
        cases[organisation] = [_file(name) for name in names]
    db.session.commit()
    pseudonyms = {
        organisation: {
            set_organisation_pseudonym(db.session, officer.user, officer.key, case, name)
            for case, name in zip(cases[organisation], names, strict=True)
        }
        for organisation, names in NAMES.items()
    }
    db.session.commit()
    # An organisation that complains again is still counted once.
    assert all(len(found) == 1 for found in pseudonyms.values())
    inputs = collect_inputs(db.session, unlock_statistics(db.session, officer.key), Period(2025))
    assert len({row.unit for row in inputs.cases}) == 2
    rows = db.session.execute(select(OrganisationPseudonym)).scalars().all()
    assert len(rows) == 2
    readable = _readable_values(exclude=OrganisationPseudonym.__tablename__)
    case_keys = {case.record_key for group in cases.values() for case in group}
    for row in rows:
        # Neither its record key nor its pseudonym (nor its digest) is a case's readable
        # value, or appears anywhere readable outside the pseudonyms' own table.
        assert row.record_key not in case_keys
        for table, column, value in readable:
            assert value != row.record_key, (table, column)
            assert row.pseudonym not in str(value), (table, column)
            assert row.name_digest not in str(value), (table, column)
    # The two cases of one organisation share no readable value that names it: nothing in
    # their rows that the other organisation's case does not share as well.
    first, second = (
        db.session.execute(select(Case.__table__).where(Case.id == case.id)).mappings().one()
        for case in cases["ravensmoor"]
    )
    other = (
        db.session.execute(select(Case.__table__).where(Case.id == cases["harbour"][0].id))
        .mappings()
        .one()
    )
    for column, value in first.items():
        if value is not None and second[column] == value:
            assert other[column] == value, column
