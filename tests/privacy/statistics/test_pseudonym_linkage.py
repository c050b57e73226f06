"""No readable value links two cases of one organisation, or a pseudonym to a case (G11)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from mediation import create_app
from mediation.domain.statistics_periods import Period
from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.statistics import OrganisationPseudonym
from mediation.services import statistical_records
from mediation.services.organisation_pseudonyms import set_organisation_pseudonym
from mediation.services.statistics_inputs import collect_inputs, unlock_statistics
from tests import seeded
from tests.conftest import base_config
from tests.statistics.conftest import Officer
from tests.test_migrations import empty_database_url

__all__ = ["empty_database_url"]

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


def test_the_upgrade_replaces_record_keys_that_were_a_cases(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Migration 0025: each pseudonym's record key, until then its first case's (readable
    beside the case), is replaced by a random one of its own."""
    app = create_app(base_config(empty_database_url, tmp_path))
    with app.app_context():
        upgrade()
        downgrade(revision="0025")
        downgrade(revision="-1")
        for number, key in enumerate((1234567, 7654321)):
            db.session.execute(
                text(
                    "INSERT INTO organisation_pseudonyms (name_digest, digest_key_id, pseudonym,"
                    " record_key, created_on) VALUES (:digest, 'k', :pseudonym, :key, :day)"
                ),
                {
                    "digest": f"d{number}",
                    "pseudonym": f"p{number}",
                    "key": key,
                    "day": date.today(),
                },
            )
        db.session.commit()
        upgrade(revision="0025")
        keys = db.session.execute(
            text("SELECT pseudonym, record_key FROM organisation_pseudonyms ORDER BY pseudonym")
        ).all()
        assert [pseudonym for pseudonym, _ in keys] == ["p0", "p1"]
        assert all(key not in (1234567, 7654321) for _, key in keys)
        assert all(0 <= key < 2**31 for _, key in keys)
        db.session.remove()
        db.engine.dispose()
