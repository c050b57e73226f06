"""A worker's copy of the whole queue shows, page by page and view by view, what the queue
statement reads from the database, after any write to the queue's tables, by anyone; and
after the first reading it reads again only the cases written since."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, insert, select, text, update

from mediation.extensions import db
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case, QueueChange, QueueVersion
from mediation.models.casework import MediationSession, TriageRecord
from mediation.models.intake import CaseBreach
from mediation.services import case_clocks, case_queue, queue_cache, queue_replica
from mediation.services.queue_replica import QueueReplica
from mediation.services.queue_rows import PAGE_COLUMNS
from tests.casework.conftest import Driver, case_by_reference
from tests.conftest import counted

PAGE_SIZE = 3


def _compared(replica: QueueReplica, today: date | None = None) -> None:
    """Every page of every view, from the copy and from the database, alike."""
    today = today or case_clocks.today()
    for view in case_queue.VIEWS:
        filters = case_queue.QueueFilters(view=view)
        page = 1
        while True:
            read = case_queue.build_queue(
                db.session, filters, today, page=page, page_size=PAGE_SIZE
            )
            db.session.commit()
            copied = case_queue.build_queue(
                db.session, filters, today, page=page, page_size=PAGE_SIZE, replica=replica
            )
            db.session.commit()
            assert _shown(copied) == _shown(read), (view, page)
            assert copied.counts == read.counts and copied.matching == read.matching
            assert copied.page == read.page
            if page > read.pages:  # one past the last: the last again
                break
            page += 1


def _shown(queue: case_queue.Queue) -> list[tuple[Any, ...]]:
    return [
        (
            row.case.id,
            row.case.reference,
            row.case.state,
            row.case.urgent,
            row.body.name if row.body else None,
            tuple(row.categories),
            row.next_deadline_on,
            row.next_deadline_kind,
            row.papers_overdue,
            row.overdue,
        )
        for row in queue.rows
    ]


def _set(case_id: int, **values: Any) -> None:
    db.session.execute(update(Case).where(Case.id == case_id).values(**values))


@pytest.fixture
def read_whole(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a copy read the whole queue."""
    calls: list[int] = []
    reading = queue_replica._read_whole

    def spied(*args: Any) -> Any:
        calls.append(1)
        return reading(*args)

    monkeypatch.setattr(queue_replica, "_read_whole", spied)
    return calls


def test_the_copy_follows_every_kind_of_write_as_the_database_shows_it(
    app: Flask, driver: Driver, read_whole: list[int]
) -> None:
    today = case_clocks.today()
    filed = [driver.file().case for _ in range(4)]
    filed += [driver.to(state).case for state in ("acknowledged", "triage", "in_mediation")]
    db.session.commit()
    ids = [case.id for case in filed]
    replica = QueueReplica()
    _compared(replica)
    assert len(read_whole) == 1

    chance = random.Random(8)
    categories = ["funding_change", "consultation"]
    days = [None, today - timedelta(days=3), today, today + timedelta(days=4)]
    writes = [
        lambda c: _set(c, urgent=chance.choice([True, False])),
        lambda c: _set(c, next_deadline_on=chance.choice(days), next_deadline_kind="triage"),
        lambda c: _set(c, state="closed", funding_check_due_on=chance.choice(days)),
        lambda c: _set(c, funding_check_due_on=chance.choice(days)),
        lambda c: _set(c, state=chance.choice(["submitted", "triage", "on_hold"])),
        lambda c: db.session.execute(
            insert(MediationSession).values(
                case_id=c,
                held_on=today + timedelta(days=chance.choice([-1, 0, 3])),
                part_of_day="morning",
                papers_due_on=today - timedelta(days=1),
                complainant_papers_on=None,
                respondent_papers_on=chance.choice([None, today]),
            )
        ),
        lambda c: db.session.execute(
            update(MediationSession)
            .where(MediationSession.case_id == c)
            .values(complainant_papers_on=today, respondent_papers_on=today)
        ),
        lambda c: db.session.execute(
            insert(CaseBreach).values(
                case_id=c, position=9, category=chance.choice(["funding_change", "consultation"])
            )
        ),
        lambda c: db.session.execute(
            text("DELETE FROM triage_records WHERE case_id = :c"), {"c": c}
        ),
        lambda c: _set(c, keys_destroyed_on=today, state="closed"),
        lambda c: (
            db.session.execute(text("DELETE FROM triage_records WHERE case_id = :c"), {"c": c}),
            db.session.execute(
                insert(TriageRecord).values(
                    case_id=c, categories=[chance.choice(categories)], triaged_on=today
                )
            ),
        ),
        lambda c: db.session.execute(
            update(TriageRecord)
            .where(TriageRecord.case_id == c)
            .values(categories=chance.choice([[], categories]))
        ),
        lambda c: db.session.execute(
            text(
                "DELETE FROM case_breaches WHERE id ="
                " (SELECT min(id) FROM case_breaches WHERE case_id = :c)"
            ),
            {"c": c},
        ),
        lambda c: db.session.execute(delete(MediationSession).where(MediationSession.case_id == c)),
        lambda c: db.session.execute(  # a row moved from one case to another
            text(
                "UPDATE case_breaches SET case_id = :to WHERE id ="
                " (SELECT min(id) FROM case_breaches WHERE case_id = :c)"
            ),
            {"c": c, "to": chance.choice(ids)},
        ),
    ]
    for _ in range(60):
        for _ in range(chance.choice([1, 1, 2])):
            chance.choice(writes)(chance.choice(ids))
        db.session.commit()
        _compared(replica)
    assert len(read_whole) == 1  # every change read from the notes


def test_a_triage_and_a_body_renamed_show_and_a_new_day_reads_the_whole_queue(
    app: Flask, driver: Driver, read_whole: list[int]
) -> None:
    filed = [driver.file().case for _ in range(3)]
    db.session.commit()
    replica = QueueReplica()
    _compared(replica)
    driver.triaged(case_by_reference(filed[1].reference))
    db.session.commit()
    assert db.session.execute(select(TriageRecord).limit(1)).scalar_one_or_none()
    _compared(replica)
    assert len(read_whole) == 1
    body = db.session.execute(
        select(RespondentBody).where(RespondentBody.id == filed[0].respondent_body_id)
    ).scalar_one()
    body.name = "Renamed Borough Council"
    db.session.commit()
    _compared(replica)
    assert len(read_whole) == 2  # a body's write names no case: read whole
    tomorrow = case_clocks.today() + timedelta(days=1)
    _compared(replica, tomorrow)
    assert len(read_whole) == 3


def test_a_copy_too_far_behind_or_of_another_database_is_read_whole(
    app: Flask, driver: Driver, read_whole: list[int]
) -> None:
    filed = driver.file().case
    db.session.commit()
    replica = QueueReplica()
    _compared(replica)
    db.session.execute(update(QueueVersion).values(version=QueueVersion.version + 20000))
    _set(filed.id, urgent=True)
    db.session.commit()
    _compared(replica)
    assert len(read_whole) == 2
    db.session.execute(update(QueueVersion).values(token="another database"))
    db.session.commit()
    _compared(replica)
    assert len(read_whole) == 3


def test_more_cases_changed_than_are_read_again_by_id_read_the_whole_queue(
    app: Flask, driver: Driver, read_whole: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    filed = [driver.file().case for _ in range(3)]
    db.session.commit()
    replica = QueueReplica()
    _compared(replica)
    monkeypatch.setattr(queue_replica, "MOST_READ_AGAIN", 2)
    _set(filed[0].id, urgent=True)
    _set(filed[1].id, urgent=True)
    db.session.commit()  # two cases, one version (PostgreSQL) or two (SQLite)
    _compared(replica)
    assert len(read_whole) == 1  # two are read by id
    for case in filed:
        _set(case.id, urgent=False)
    db.session.commit()
    _compared(replica)
    assert len(read_whole) == 2  # three are too many


def test_after_a_change_only_the_changed_cases_are_read(
    app: Flask, driver: Driver, read_whole: list[int]
) -> None:
    filed = [driver.file().case for _ in range(5)]
    db.session.commit()
    replica = QueueReplica()
    queue = case_queue.build_queue(
        db.session, case_queue.QueueFilters(), page_size=50, replica=replica
    )
    db.session.commit()
    assert queue.counts["urgent"] == 0

    def read_again() -> tuple[case_queue.Queue, list[str]]:
        with counted(app) as run:
            queue = case_queue.build_queue(
                db.session, case_queue.QueueFilters(), page_size=50, replica=replica
            )
            db.session.commit()
        assert not any(s.lstrip().startswith("WITH papers_late") for s in run)  # no page
        return queue, [s for s in run if not s.startswith("SET LOCAL")]

    # One write since: the version row names its case, read by id.
    _set(filed[3].id, urgent=True)
    db.session.commit()
    queue, run = read_again()
    assert queue.rows[0].case.id == filed[3].id and queue.counts["urgent"] == 1
    assert len(run) == 2 and "queue_version" in run[0] and "IN (" in run[1]
    # Two writes since, of two cases: their notes name them.
    _set(filed[1].id, urgent=True)
    db.session.commit()
    _set(filed[3].id, urgent=False)
    db.session.commit()
    queue, run = read_again()
    assert queue.rows[0].case.id == filed[1].id and queue.counts["urgent"] == 1
    assert len(run) == 3 and "queue_changes" in run[1] and "IN (" in run[2]
    # Nothing since: the version alone.
    queue, run = read_again()
    assert len(run) == 1 and queue.counts["urgent"] == 1
    assert len(read_whole) == 1  # the first page only


def test_notes_let_go_since_the_version_was_read_make_the_copy_read_everything(
    app: Flask, driver: Driver, read_whole: list[int]
) -> None:
    """A write past the notes kept lets the oldest go, perhaps between the copy reading
    the version and reading the notes: the copy then reads the whole queue rather than
    miss the cases whose notes went."""
    filed = [driver.file().case for _ in range(3)]
    db.session.commit()
    replica = QueueReplica()
    _compared(replica)
    version = db.session.execute(select(QueueVersion.version)).scalar_one()
    db.session.commit()
    _set(filed[0].id, urgent=True)
    db.session.commit()
    _set(filed[1].id, urgent=True)
    db.session.commit()
    db.session.execute(delete(QueueChange).where(QueueChange.version <= version + 1))
    db.session.commit()
    _compared(replica)  # the first case's change shows although its note went
    assert len(read_whole) == 2


def test_a_transaction_that_has_written_does_not_use_the_copy(app: Flask, driver: Driver) -> None:
    filed = [driver.file().case for _ in range(2)]
    db.session.commit()
    replica = QueueReplica()
    case_queue.build_queue(db.session, case_queue.QueueFilters(), page_size=50, replica=replica)
    db.session.commit()
    case_by_reference(filed[1].reference).urgent = True  # not committed
    pending = case_queue.build_queue(
        db.session, case_queue.QueueFilters(), page_size=50, replica=replica
    )
    assert pending.rows[0].case.id == filed[1].id and pending.counts["urgent"] == 1
    assert queue_cache.current_state(db.session) is None
    db.session.rollback()
    after = case_queue.build_queue(
        db.session, case_queue.QueueFilters(), page_size=50, replica=replica
    )
    assert after.counts["urgent"] == 0


def test_the_copy_reads_its_rows_whole_and_again_with_the_same_columns() -> None:
    """A page may hold rows of both readings; the rows' columns are found by name from
    the first (`queue_rows.load_rows`)."""
    from mediation.services import queue_statement

    whole = list(queue_statement.members_statement(by_id=False).selected_columns.keys())
    again = list(queue_statement.members_statement(by_id=True).selected_columns.keys())
    assert whole == again and set(PAGE_COLUMNS) <= set(whole)


def test_an_empty_queue_is_copied_and_without_a_version_row_the_database_is_read(
    app: Flask, driver: Driver, read_whole: list[int]
) -> None:
    replica = QueueReplica()
    empty = case_queue.build_queue(
        db.session, case_queue.QueueFilters(), page_size=50, replica=replica
    )
    db.session.commit()
    assert empty.rows == [] and empty.matching == 0 and empty.page == 1
    assert len(read_whole) == 1
    filed = driver.file().case
    db.session.commit()
    _compared(replica)
    assert len(read_whole) == 1  # the filing read again from its notes
    db.session.execute(text("DELETE FROM queue_version"))
    db.session.commit()
    assert replica.page(db.session, "all", case_clocks.today(), 1, 50) is None
    db.session.commit()
    with counted(app) as run:
        queue = case_queue.build_queue(
            db.session, case_queue.QueueFilters(), page_size=50, replica=replica
        )
    assert [row.case.id for row in queue.rows] == [filed.id]
    assert any(s.lstrip().startswith("WITH papers_late") for s in run)  # the statement
