"""Every write to a table the queue reads notes the case it touched, at the queue version
it moved to (migration 0021), so that a worker holding the queue reads again only those
cases; in the order transactions commit, and only for the last versions."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, delete, insert, select, text, update

from mediation.extensions import db
from mediation.models.bodies import RespondentBody
from mediation.models.cases import QUEUE_CHANGES_KEPT, Case, QueueChange, QueueVersion
from mediation.models.intake import CaseBreach
from tests.casework.conftest import Driver, case_by_reference
from tests.conftest import ON_POSTGRES


def _version() -> int:
    version = db.session.execute(select(QueueVersion.version)).scalar_one()
    db.session.commit()
    return int(version)


def _only_case() -> int | None:
    only = db.session.execute(select(QueueVersion.only_case)).scalar_one()
    db.session.commit()
    return only


def _notes_after(version: int) -> list[tuple[int, int | None]]:
    rows = db.session.execute(
        select(QueueChange.version, QueueChange.case_id)
        .where(QueueChange.version > version)
        .order_by(QueueChange.id)
    ).all()
    db.session.commit()
    return [(row.version, row.case_id) for row in rows]


def test_each_write_notes_its_case_at_the_version_it_moved_to(app: Flask, driver: Driver) -> None:
    before = _version()
    filed = driver.file().case
    db.session.commit()
    filing = _notes_after(before)
    assert filing and {case_id for _, case_id in filing} == {filed.id}
    assert max(version for version, _ in filing) == _version()

    before = _version()
    case_by_reference(filed.reference).urgent = True
    db.session.commit()
    assert _notes_after(before) == [(_version(), filed.id)]
    assert _only_case() == filed.id  # the version row names the one case written

    before = _version()
    body = db.session.execute(select(RespondentBody).limit(1)).scalar_one()
    body.name = body.name + " (renamed)"
    db.session.commit()
    assert _notes_after(before) == [(_version(), None)]  # every case of the body
    assert _only_case() is None


def test_a_row_moved_to_another_case_notes_both(app: Flask, driver: Driver) -> None:
    first, second = driver.file().case, driver.file().case
    db.session.commit()
    breach_id = db.session.execute(
        insert(CaseBreach)
        .values(case_id=first.id, position=0, category="funding_change")
        .returning(CaseBreach.id)
    ).scalar_one()
    db.session.commit()
    before = _version()
    db.session.execute(
        text("UPDATE case_breaches SET case_id = :to WHERE id = :id"),
        {"to": second.id, "id": breach_id},
    )
    db.session.commit()
    assert {case_id for _, case_id in _notes_after(before)} == {first.id, second.id}
    assert _only_case() is None


def test_only_the_last_versions_notes_are_kept(app: Flask, driver: Driver) -> None:
    filed = driver.file().case
    db.session.commit()
    now = _version()
    db.session.execute(
        insert(QueueChange),
        [
            {"version": now - QUEUE_CHANGES_KEPT - 5, "case_id": filed.id},
            {"version": now - 5, "case_id": filed.id},
        ],
    )
    db.session.commit()
    case_by_reference(filed.reference).urgent = True
    db.session.commit()
    kept = db.session.execute(select(QueueChange.version)).scalars().all()
    assert now - QUEUE_CHANGES_KEPT - 5 not in kept and now - 5 in kept
    db.session.commit()


@pytest.mark.skipif(not ON_POSTGRES, reason="two writers at once: PostgreSQL's")
def test_versions_follow_the_order_transactions_commit_in(
    app: Flask, app_config: dict[str, Any], driver: Driver
) -> None:
    """A transaction that wrote first but commits last moves the queue on last, so a
    worker that has read the notes up to a version never misses a note below it."""
    first, second = driver.file().case, driver.file().case
    db.session.commit()
    before = _version()
    engine = create_engine(app_config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as slow, engine.connect() as quick:
            slow.execute(update(Case).where(Case.id == first.id).values(urgent=True))
            quick.execute(update(Case).where(Case.id == second.id).values(urgent=True))
            quick.commit()
            assert _notes_after(before) == [(before + 1, second.id)]
            slow.commit()
    finally:
        engine.dispose()
    assert _notes_after(before) == [(before + 1, second.id), (before + 2, first.id)]
    db.session.execute(delete(QueueChange))
    db.session.commit()


@pytest.mark.skipif(not ON_POSTGRES, reason="one version a transaction: PostgreSQL's")
def test_a_transaction_writing_two_cases_names_neither_on_the_version_row(
    app: Flask, driver: Driver
) -> None:
    first, second = driver.file().case, driver.file().case
    db.session.commit()
    before = _version()
    _urgent = update(Case).values(urgent=True)
    db.session.execute(_urgent.where(Case.id == first.id))
    db.session.execute(_urgent.where(Case.id == first.id))  # the same case again: still one
    db.session.commit()
    assert _version() == before + 1 and _only_case() == first.id
    db.session.execute(_urgent.where(Case.id == first.id))
    db.session.execute(_urgent.where(Case.id == second.id))
    db.session.commit()
    assert _version() == before + 2 and _only_case() is None
    assert {case_id for _, case_id in _notes_after(before + 1)} == {first.id, second.id}
