"""A worker's copy of the queue pages it has read, kept for as long as the database's queue
version says nothing the queue reads has changed since.

Every committed INSERT, UPDATE or DELETE on a table the case officers' queue reads moves
the one row of `queue_version` on by one (triggers, migration 0020), and the row's token
is drawn when the database is made. A page of the queue (its cases in order, and the
counts of every view) read at one (token, version) for one day, filters and page is
therefore the same page until the row moves on: the page statement is the queue page's
dearest part, and case officers reload the queue more often than its cases change. The
web queue keeps its filtered pages here; the five views unfiltered come from the worker's
copy of the whole queue (`queue_replica`), which also takes `may_keep` from here.

What is kept is what the queue statement returns: each case's reference, state, openness,
urgency, dates, public body and breach categories, the page's counts. No complainant's
identity or narrative is ever among them (the queue reads no sealed column), and the copy
lives in the worker's memory only.

The version is read before the page, in the same transaction: the page is then at least
as new as the version, so a page kept under a version never shows less than that version
holds. A transaction that has written anything (or has changes waiting to be flushed)
reads the database afresh and keeps nothing, since what it sees may yet be rolled back.
After restoring the database from a backup, restart the workers (as after any restore).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation import request_transactions
from mediation.models.cases import QueueVersion

EXTENSION = "mediation_queue_cache"
PAGES_KEPT = 64  # pages of every filter and view; fifty rows each, a few kB apiece

State = tuple[str, int]  # the queue version's token and number


@dataclass(frozen=True, slots=True)
class Kept:
    """One page of the queue as the statement read it."""

    found: tuple[Any, ...]  # the page statement's rows (plain Row tuples)
    counts: dict[str, int]
    matching: int
    page: int


class QueueCache:
    """The pages read at the latest queue version this worker has seen; safe across
    threads. A new version (or token) empties it."""

    def __init__(self, size: int = PAGES_KEPT) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._state: State | None = None
        self._pages: OrderedDict[Hashable, Kept] = OrderedDict()

    def get(self, state: State, key: Hashable) -> Kept | None:
        with self._lock:
            if state != self._state:
                # Pages of another version are of no more use (and some may show cases
                # since purged): gone at once, not at the next page kept.
                self._state = None
                self._pages.clear()
                return None
            kept = self._pages.get(key)
            if kept is not None:
                self._pages.move_to_end(key)
            return kept

    def put(self, state: State, key: Hashable, kept: Kept) -> None:
        with self._lock:
            if state != self._state:
                self._state = state
                self._pages.clear()
            self._pages[key] = kept
            self._pages.move_to_end(key)
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)


def install(app: Flask) -> None:
    app.extensions[EXTENSION] = QueueCache()


def of(app: Flask) -> QueueCache | None:
    cache: QueueCache | None = app.extensions.get(EXTENSION)
    return cache


def current_state(session: Session) -> State | None:
    """The queue version this transaction sees, or None when a page read now must not be
    kept (or taken from the cache): the transaction has written, or has changes to flush,
    or the version row is missing. (The table itself comes with migration 0020, which the
    app needs as it needs every migration.)"""
    if not may_keep(session):
        return None
    row = session.connection().execute(_STATE).one_or_none()
    return None if row is None else (row.token, int(row.version))


def may_keep(session: Session) -> bool:
    """Whether what this transaction reads of the queue may be kept, or taken from what a
    worker kept: not once it has written, or has changes to flush."""
    if session.new or session.dirty or session.deleted:
        return False
    return not request_transactions.wrote(session.connection())


_STATE = select(QueueVersion.token, QueueVersion.version).where(QueueVersion.id == 1)
