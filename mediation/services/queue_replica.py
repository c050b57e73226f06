"""A worker's copy of the whole queue: every case in it, in the queue's order, in each view,
with each view's count, kept as new as the database by reading again only the cases
written since.

Every write to a table the queue reads moves the queue's version on and notes the case it
touched (`QueueChange`, migrations 0020 and 0021). The copy is read whole once (on a
worker's first queue page, on a new day, after a write to a public body, or when it has
fallen more than `QUEUE_CHANGES_KEPT` versions behind); after that, a page asked for at a
newer version first reads the present rows of the cases written since the copy's version,
a few rows, rather than the whole queue statement: when the copy is one version behind,
the case the version row names (`QueueVersion.only_case`), else those the notes since
name. A page of any of the five views, unfiltered, is then a slice of a list, and its
counts the lists' lengths. Filtered pages are read from the database (`queue_statement`,
and `queue_cache`).

The notes and the rows are read after the version, in the same transaction: the copy is
then at least as new as the version it is labelled with, so it never shows less than that
version holds. Each statement may see commits made since the one before it (on
PostgreSQL, and on SQLite, whose driver reads outside a transaction until a write): a
case read again may then show a commit newer than the version, beside cases that commit
also changed as they were; the next page reads those again. The notes are read with the
oldest note kept, so that notes let go meanwhile (by writes past `QUEUE_CHANGES_KEPT`
versions) make the copy read the whole queue rather than miss a case. A transaction that
has written anything does not use the copy (`queue_cache.may_keep`).

The copy holds what the queue shows of each case (its reference, state, openness,
urgency, dates, public body and breach categories, from `queue_statement`'s
`members_statement`), never a complainant's identity or narrative, in the worker's memory
only: about 20 MB of a worker's resident memory at 100,000 cases, 4,717 of them in the
queue (`bench/bench_pages.py`).
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Any

from flask import Flask
from sqlalchemy import BigInteger, Integer, bindparam, func, select, true
from sqlalchemy.orm import Session

from mediation.domain import paging
from mediation.models.cases import QUEUE_CHANGES_KEPT, QueueChange, QueueVersion
from mediation.services import queue_cache, queue_statement
from mediation.services.queue_cache import Kept
from mediation.services.queue_rows import PageRow

EXTENSION = "mediation_queue_replica"
# More cases changed than this since the copy's version, and the whole queue is read again.
MOST_READ_AGAIN = 2000

Key = tuple[int, date, int]  # the queue's order: rank, nearest deadline, case id


def _key(row: PageRow, today: date) -> Key:
    """Where the case falls in the queue's order, as `queue_statement` ranks it: urgent
    first; then overdue by a clock; overdue only by a mediation session's papers, with a
    deadline running or not; then due on a day; then with no running deadline."""
    deadline: date | None = row.next_deadline_on
    if deadline is not None and deadline < today:
        place = queue_statement.CLOCK_OVERDUE
    elif row.papers_late:
        place = (
            queue_statement.PAPERS_LATE_DATED if deadline else queue_statement.PAPERS_LATE_UNDATED
        )
    elif deadline is not None:
        place = queue_statement.DATED
    else:
        place = queue_statement.UNDATED
    rank = place + (0 if row.urgent else queue_statement.NOT_URGENT)
    # Within a rank every case has a deadline or none, so none sorts as any one day.
    return (rank, deadline or date.min, row.id)


def _views(row: PageRow, today: date) -> tuple[str, ...]:
    """The views that show the case, as `queue_statement` counts and filters them."""
    deadline: date | None = row.next_deadline_on
    views = ["all"]
    if row.state == "submitted":
        views.append("new")
    if (deadline is not None and deadline < today) or row.papers_late:
        views.append("overdue")
    if row.urgent:
        views.append("urgent")
    if row.funding_due:
        views.append("funding_checks")
    return tuple(views)


@dataclass(slots=True)
class _Entry:
    key: Key
    views: tuple[str, ...]
    row: PageRow


@dataclass
class _Copy:
    """The queue as read at one (token, version), for one day."""

    token: str
    version: int
    today: date
    entries: dict[int, _Entry] = field(default_factory=dict)  # by case id (a key's last)
    ordered: dict[str, list[Key]] = field(
        default_factory=lambda: {view: [] for view in queue_statement.VIEWS}
    )

    def entry(self, row: PageRow) -> _Entry:
        return _Entry(_key(row, self.today), _views(row, self.today), row)

    def add(self, entry: _Entry) -> None:
        """Puts the case in place in each of its views (at the end, when added in order)."""
        self.entries[entry.row.id] = entry
        for view in entry.views:
            bisect.insort(self.ordered[view], entry.key)

    def remove(self, case_id: int) -> None:
        entry = self.entries.pop(case_id, None)
        if entry is None:
            return
        for view in entry.views:
            keys = self.ordered[view]
            del keys[bisect.bisect_left(keys, entry.key)]

    def page(self, view: str, page: int, page_size: int) -> Kept:
        """One page of the view (the last when asked for one past it) and every count."""
        keys = self.ordered[view]
        matching = len(keys)
        page = min(page, paging.page_count(matching, page_size)) if matching else 1
        start = (page - 1) * page_size
        found = tuple(self.entries[key[-1]].row for key in keys[start : start + page_size])
        counts = {name: len(listed) for name, listed in self.ordered.items()}
        return Kept(found, counts, matching, page)


class QueueReplica:
    """The queue as this worker last read it; safe across threads (one reader at a time
    brings it up to date)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._copy: _Copy | None = None

    def page(
        self, session: Session, view: str, today: date, page: int, page_size: int
    ) -> Kept | None:
        """A page of the view, unfiltered, at least as new as the queue's version as this
        transaction sees it; None when the transaction must read the database itself (it
        has written, or the version row is missing)."""
        if not queue_cache.may_keep(session):
            return None
        connection = session.connection()
        postgresql = connection.dialect.name == "postgresql"
        head = connection.execute(_HEAD_POSTGRESQL if postgresql else _HEAD).one_or_none()
        if head is None:
            return None
        with self._lock:
            copy = self._copy
            if (
                copy is None
                or copy.token != head.token
                or copy.today != today
                or not _caught_up(session, copy, head)
            ):
                copy = self._copy = _read_whole(session, head, today)
            return copy.page(view, page, page_size)


def _caught_up(session: Session, copy: _Copy, head: Any) -> bool:
    """Reads again the cases written since the copy's version, up to the version read
    (`head`); False when the notes cannot say which (too far behind, too many, or a public
    body written)."""
    if head.version <= copy.version:
        return True
    if head.version == copy.version + 1 and head.only_case is not None:
        changed: list[int] = [head.only_case]  # one write since, of one case
    else:
        if head.version - copy.version > QUEUE_CHANGES_KEPT:
            return False
        noted = session.connection().execute(
            _NOTED, {"after": copy.version, "upto": head.version, "most": MOST_READ_AGAIN + 1}
        )
        found = noted.all()
        # Every version since the copy's has its notes, unless writes committed since the
        # version was read have let the oldest go: the oldest note kept, read with them,
        # says so (no notes at all, likewise).
        if not found or found[0].oldest > copy.version + 1:
            return False
        if len(found) > MOST_READ_AGAIN or any(row.case_id is None for row in found):
            return False
        changed = sorted(row.case_id for row in found)
    _read_again(session, copy, changed)
    copy.version = head.version
    return True


def _read_again(session: Session, copy: _Copy, case_ids: list[int]) -> None:
    """The cases' present rows, in one statement (at most `MOST_READ_AGAIN` of them)."""
    statement = queue_statement.members_statement(by_id=True)
    rows = session.connection().execute(statement, {"ids": case_ids, "today": copy.today})
    found = {row.id: row for row in rows}
    for case_id in case_ids:
        copy.remove(case_id)
        if case_id in found:  # still in the queue
            copy.add(copy.entry(found[case_id]))


def _read_whole(session: Session, head: Any, today: date) -> _Copy:
    """The whole queue as this transaction sees it, at the version read (`head`)."""
    copy = _Copy(token=head.token, version=head.version, today=today)
    statement = queue_statement.members_statement(by_id=False)
    rows = session.connection().execute(statement, {"today": today})
    for entry in sorted(map(copy.entry, rows), key=attrgetter("key")):
        copy.add(entry)  # in order, so that each list grows at its end
    return copy


_HEAD = select(QueueVersion.token, QueueVersion.version, QueueVersion.only_case).where(
    QueueVersion.id == 1
)
# On PostgreSQL the version is read with a setting for the rest of the transaction: the
# changed cases' statement reads a few rows, and PostgreSQL would otherwise plan it afresh
# each time (for longer than it runs it); this keeps one plan for it once psycopg has
# prepared it, as the page statement's SET LOCAL does, without a round trip of its own.
_HEAD_POSTGRESQL = _HEAD.add_columns(
    func.set_config("plan_cache_mode", "force_generic_plan", true()).label("plans")
)
_NOTED = (
    select(
        QueueChange.case_id,
        select(func.min(QueueChange.version)).scalar_subquery().label("oldest"),
    )
    .where(
        QueueChange.version > bindparam("after", type_=BigInteger),
        QueueChange.version <= bindparam("upto", type_=BigInteger),
    )
    .distinct()
    .limit(bindparam("most", type_=Integer))
)


def install(app: Flask) -> None:
    app.extensions[EXTENSION] = QueueReplica()


def of(app: Flask) -> QueueReplica | None:
    replica: QueueReplica | None = app.extensions.get(EXTENSION)
    return replica
