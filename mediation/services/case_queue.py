"""The case officers' queue: new, overdue and urgent cases, funding checks that are due,
filtered by state, breach category, body type and region (of the public body).

The database filters, counts, orders and pages it in one statement whatever the number of
cases (`queue_statement`), which also reads what the page shows of its cases
(`queue_rows` makes the rows). It reads nothing of a case but its row, where `case_clocks`
keeps its nearest running deadline and next funding check, through the queue's indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from mediation.domain import paging, workflow
from mediation.models.cases import DONE_STATES
from mediation.services import case_clocks, queue_cache, queue_rows, queue_statement
from mediation.services.queue_cache import QueueCache
from mediation.services.queue_replica import QueueReplica
from mediation.services.queue_rows import QueueRow
from mediation.services.queue_statement import VIEWS

__all__ = ["PAGE_SIZE", "QUEUE_STATES", "VIEWS", "Queue", "QueueFilters", "QueueRow"]

QUEUE_STATES = tuple(sorted(frozenset(workflow.STATES) - frozenset(DONE_STATES)))
PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueFilters:
    view: str = "all"
    state: str | None = None
    category: str | None = None
    body_type: str | None = None
    region: str | None = None

    @property
    def narrowed(self) -> bool:
        """Filtered by more than the view (whose count the counts already give)."""
        return bool(self.state or self.category or self.body_type or self.region)


@dataclass(frozen=True)
class Queue(paging.Paged):
    """One page of the cases matching the filters, and how many each view holds."""

    rows: list[QueueRow]
    counts: dict[str, int]
    matching: int = 0  # cases matching the filters, on every page
    page: int = 1
    page_size: int | None = None  # None: every matching case on one page

    @property
    def counted(self) -> int:
        return self.matching


def build_queue(
    session: Session,
    filters: QueueFilters,
    today: date | None = None,
    *,
    page: int = 1,
    page_size: int | None = None,
    cache: QueueCache | None = None,
    replica: QueueReplica | None = None,
) -> Queue:
    """Every live case (and closed ones with a funding check due), urgent and overdue
    first, then by the nearest deadline; one page of them when `page_size` is given (the
    last page when asked for one past it, as when the queue shrank since the link was
    made). With a `replica`, a page of a view unfiltered comes from the worker's copy of
    the whole queue, brought up to the database's present queue version
    (`queue_replica`); with a `cache`, any other page read at that version is read from
    it (`queue_cache`)."""
    today = today or case_clocks.today()
    page = max(1, page)
    if page_size is None or (cache is None and replica is None):
        kept = _read(session, filters, today, page, page_size)
    else:
        kept = _kept_or_read(session, cache, replica, filters, today, page, page_size)
    return Queue(
        rows=queue_rows.load_rows(session, kept.found, today),
        counts=kept.counts,
        matching=kept.matching,
        page=kept.page,
        page_size=page_size,
    )


def _kept_or_read(
    session: Session,
    cache: QueueCache | None,
    replica: QueueReplica | None,
    filters: QueueFilters,
    today: date,
    page: int,
    page_size: int,
) -> queue_cache.Kept:
    """The page from the worker's copy of the queue or as this worker read it at the
    database's present queue version, or read now (and kept, unless this transaction has
    written)."""
    if replica is not None and not filters.narrowed:
        copied = replica.page(session, filters.view, today, page, page_size)
        if copied is not None:
            return copied
        return _read(session, filters, today, page, page_size)
    state = queue_cache.current_state(session)
    if state is None or cache is None:
        return _read(session, filters, today, page, page_size)
    key = (today, filters, page, page_size)
    kept = cache.get(state, key)
    if kept is None:
        kept = _read(session, filters, today, page, page_size)
        cache.put(state, key, kept)
    return kept


def _read(
    session: Session, filters: QueueFilters, today: date, page: int, page_size: int | None
) -> queue_cache.Kept:
    found = _page(session, filters, today, page, page_size)
    if found:  # every row carries the counts
        counts, matching = queue_statement.counted(found[0], filters)
    else:
        counts, matching = queue_statement.counted(
            session.connection()
            .execute(queue_statement.counts_statement(filters), {"today": today})
            .one(),
            filters,
        )
        last = paging.page_count(matching, page_size)
        if matching and page > last:
            page = last
            found = _page(session, filters, today, page, page_size)
        else:
            page = 1
    return queue_cache.Kept(tuple(found), counts, matching, page)


def _page(
    session: Session, filters: QueueFilters, today: date, page: int, page_size: int | None
) -> list[queue_rows.PageRow]:
    parameters: dict[str, Any] = {"today": today}
    if page_size is not None:
        offset = (page - 1) * page_size
        parameters.update(limit=page_size, offset=offset, window=offset + page_size)
    statement = queue_statement.page_statement(filters, paged=page_size is not None)
    # Plain rows, through the connection: nothing here is an object for the session (which
    # would flush its pending changes first, as this does).
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # The statement's plan does not depend on its parameters (the date, the page), and
        # planning it costs about as much as running it: psycopg prepares it once it has
        # run a few times on a connection, and this lets PostgreSQL keep one plan for it
        # rather than re-plan it on every request. For this transaction only.
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    return list(connection.execute(statement, parameters))
