"""A worker keeps the queue pages it has read while the queue's version stands still: every
committed write to a table the queue reads moves the version on (by trigger, whoever
writes), so no officer is ever shown a page older than the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Table, func, inspect, select, text
from sqlalchemy.sql import visitors

from mediation import create_app
from mediation.extensions import db
from mediation.models.bodies import RespondentBody
from mediation.models.cases import QUEUE_TABLES, QueueChange, QueueVersion
from mediation.services import case_clocks, case_keys, case_queue, queue_cache, queue_statement
from mediation.services.queue_cache import QueueCache
from tests.casework.conftest import Driver, Staffed, case_by_reference, staff_browser
from tests.conftest import ON_POSTGRES, counted

ALL = case_queue.QueueFilters()


def _version() -> tuple[str, int]:
    row = db.session.execute(select(QueueVersion.token, QueueVersion.version)).one()
    db.session.commit()
    return row.token, row.version


def _notes() -> int:
    """How many cases writes have noted (`QueueChange`) for workers' copies of the queue."""
    noted = db.session.execute(select(func.count()).select_from(QueueChange)).scalar_one()
    db.session.commit()
    return int(noted)


def _pages_read(statements: list[str]) -> int:
    """How many of the statements are the queue's page statement (it begins with its
    late-papers subquery)."""
    return sum(statement.lstrip().startswith("WITH papers_late") for statement in statements)


def _paged(cache: QueueCache, **filters: Any) -> case_queue.Queue:
    return case_queue.build_queue(
        db.session, case_queue.QueueFilters(**filters), page=1, page_size=50, cache=cache
    )


def _references(queue: case_queue.Queue) -> list[str]:
    return [row.case.reference for row in queue.rows]


def test_each_table_the_queue_reads_moves_the_version_on_when_written(
    app: Flask, driver: Driver
) -> None:
    names = set(inspect(db.engine).get_table_names())
    assert set(QUEUE_TABLES) <= names
    if ON_POSTGRES:
        found = db.session.execute(
            text(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE '%_queue_version' AND t.tgdeferrable"
            )
        ).scalars()
        assert set(found) == set(QUEUE_TABLES)
    else:
        found = db.session.execute(
            text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        ).all()
        triggers = {(row.tbl_name, row.name) for row in found}
        for table in QUEUE_TABLES:
            for verb in ("insert", "update", "delete"):
                assert (table, f"{table}_queue_version_{verb}") in triggers
    # And they fire: a new case, a changed one, a renamed public body.
    token, before = _version()
    filed = driver.file().case
    db.session.commit()
    _, after_filing = _version()
    assert after_filing > before
    case_by_reference(filed.reference).urgent = True
    db.session.commit()
    _, after_change = _version()
    assert after_change > after_filing
    body = db.session.execute(select(RespondentBody).limit(1)).scalar_one()
    body.name = body.name + " (renamed)"
    db.session.commit()
    assert _version() == (token, after_change + 1)


def test_a_transaction_rolled_back_or_only_reading_leaves_the_version_as_it_was(
    app: Flask, driver: Driver
) -> None:
    filed = driver.file().case
    db.session.commit()
    before, noted = _version(), _notes()
    case_by_reference(filed.reference).urgent = True
    db.session.flush()
    db.session.rollback()
    assert _version() == before
    case_queue.build_queue(db.session, ALL, page=1, page_size=50, cache=QueueCache())
    db.session.commit()
    assert _version() == before and _notes() == noted


def test_taking_a_case_lock_leaves_the_version_as_it_was(app: Flask, driver: Driver) -> None:
    """A message or a note locks its case first (`lock_case`); it changes nothing the
    queue shows, so every worker's copy of the queue stays good."""
    filed = driver.file().case
    db.session.commit()
    before, noted = _version(), _notes()
    case_keys.lock_case(db.session, case_by_reference(filed.reference))
    db.session.commit()
    assert _version() == before and _notes() == noted


def test_a_page_read_again_at_the_same_version_is_not_read_from_the_database(
    app: Flask, driver: Driver
) -> None:
    for _ in range(3):
        driver.file()
    db.session.commit()
    cache = QueueCache()
    with counted(app) as run:
        first = _paged(cache)
        db.session.commit()
        again = _paged(cache)
        db.session.commit()
    assert _pages_read(run) == 1
    assert _references(again) == _references(first) and len(first.rows) == 3
    assert again.counts == first.counts and again.matching == first.matching == 3
    # Another view, page or day is a page of its own.
    with counted(app) as run:
        _paged(cache, view="new")
        case_queue.build_queue(
            db.session, ALL, case_clocks.today() + timedelta(days=1), page_size=50, cache=cache
        )
        db.session.commit()
    assert _pages_read(run) == 2


def test_a_case_changed_by_another_worker_shows_on_the_next_page(
    app: Flask, app_config: dict[str, Any], driver: Driver, staffed: Staffed
) -> None:
    filed = [driver.file().case.reference for _ in range(3)]
    db.session.commit()
    officer = staff_browser(app, staffed.logins["officer"])
    first = officer.get("/casework/").text
    assert "Urgent (0)" in first
    assert officer.get("/casework/").text == first  # kept, and the same page

    other = create_app(app_config)  # another worker: its own engine, connections and copy
    with other.app_context():
        case_by_reference(filed[2]).urgent = True
        db.session.commit()
        db.session.remove()
        db.engine.dispose()

    page = officer.get("/casework/").text
    assert "Urgent (1)" in page
    assert page.index(filed[2]) < min(page.index(filed[0]), page.index(filed[1]))


def test_a_transaction_that_has_written_reads_afresh_and_keeps_nothing(
    app: Flask, driver: Driver
) -> None:
    filed = [driver.file().case.reference for _ in range(2)]
    db.session.commit()
    cache = QueueCache()
    before = _references(_paged(cache))
    db.session.commit()

    case_by_reference(filed[1]).urgent = True  # not yet flushed, then flushed
    with counted(app) as run:
        pending = _paged(cache)
        flushed = _paged(cache)
    assert _pages_read(run) == 2
    assert _references(pending)[0] == _references(flushed)[0] == filed[1]
    assert pending.counts["urgent"] == 1
    db.session.rollback()

    with counted(app) as run:
        after = _paged(cache)
    assert _pages_read(run) == 0  # the page kept before the rolled-back change
    assert _references(after) == before and after.counts["urgent"] == 0


def test_without_a_version_row_every_page_is_read_from_the_database(
    app: Flask, driver: Driver
) -> None:
    driver.file()
    db.session.execute(text("DELETE FROM queue_version"))
    db.session.commit()
    cache = QueueCache()
    with counted(app) as run:
        for _ in range(2):
            assert len(_paged(cache).rows) == 1
            db.session.commit()
    assert _pages_read(run) == 2
    assert queue_cache.current_state(db.session()) is None


def test_the_cache_keeps_only_its_latest_pages_and_forgets_them_at_a_new_version() -> None:
    cache = QueueCache(size=2)
    kept = queue_cache.Kept((), {}, 0, 1)
    for page in (1, 2, 3):
        cache.put(("t", 1), page, kept)
    assert cache.get(("t", 1), 1) is None
    assert cache.get(("t", 1), 3) is kept and cache.get(("t", 1), 2) is kept
    assert cache.get(("t", 2), 3) is None  # another version: the old pages go at once
    assert cache.get(("t", 1), 3) is None
    cache.put(("t", 2), 1, kept)
    assert cache.get(("t", 2), 1) is kept


def test_every_table_the_queue_statements_read_moves_the_version_on() -> None:
    """A join to another table would otherwise leave pages kept after it changes."""
    read: set[str] = set()
    narrowed = case_queue.QueueFilters(
        view="overdue", state="submitted", category="funding_change", body_type="x", region="y"
    )
    for filters in (ALL, narrowed):
        statements = [
            queue_statement.counts_statement(filters),
            queue_statement.page_statement(filters, paged=True),
            queue_statement.page_statement(filters, paged=False),
        ]
        for statement in statements:
            read |= {e.name for e in visitors.iterate(statement) if isinstance(e, Table)}
    assert read == set(QUEUE_TABLES)
    # And the worker's copy of the whole queue (`queue_replica`) reads no other either.
    for by_id in (False, True):
        statement = queue_statement.members_statement(by_id=by_id)
        copied = {e.name for e in visitors.iterate(statement) if isinstance(e, Table)}
        assert copied == set(QUEUE_TABLES)


@pytest.mark.skipif(not ON_POSTGRES, reason="the once-a-transaction flag is PostgreSQL's")
def test_a_flag_set_for_the_whole_session_does_not_stop_the_version_moving_on(
    app: Flask, driver: Driver
) -> None:
    filed = driver.file().case
    db.session.commit()
    _, before = _version()
    db.session.execute(text("SET mediation.queue_bumped = 'yes'"))  # not this transaction's
    case_by_reference(filed.reference).urgent = True
    db.session.commit()
    _, after = _version()
    assert after == before + 1
