"""A whole-run guard on one part of the lock order every writer keeps: a case's lock before
the audit log's head. Every transaction the test process runs is watched, on both engines
(not those of the separate gunicorn servers of the crash and production tests): once it
has written the head (`UPDATE audit_head`), taking the lock of a case it does not already
hold or has not made itself (`case_keys.lock_case`'s statement) fails the test that did
it, and the run. On PostgreSQL such a transaction deadlocks with any writer that keeps the
order; the race tests show two such cases, this shows that no other path in the suite takes
those two locks the wrong way round. It does not check a statement's row against the head,
nor savepoints (no path writes the audit log or makes a case inside one).
"""

from __future__ import annotations

import os
import re
import traceback
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool

_HEAD_TAKEN = "lock_order_guard_head_taken"
_LOCKED = "lock_order_guard_cases_locked"
# The case lock as lock_case takes it: PostgreSQL's row lock, SQLite's UPDATE of no row.
_CASE_LOCK = re.compile(
    r"^SELECT\b.*\bFROM cases\b.*\bFOR NO KEY UPDATE\b|^UPDATE cases SET id=cases\.id\b",
    re.DOTALL | re.IGNORECASE,
)
VIOLATIONS: list[str] = []
_checked = [0]


def _executing(
    connection: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    text = statement.lstrip()
    if text[:17].upper() == "UPDATE AUDIT_HEAD":
        connection.info[_HEAD_TAKEN] = True
    elif _CASE_LOCK.match(text):
        _checked[0] += 1
        case_id = _case_id(parameters)
        if not isinstance(case_id, int):  # lock_case's statement changed shape: say so
            VIOLATIONS.append(f"{_test()}: cannot read the case id of {text[:60]!r}")
        locked = connection.info.setdefault(_LOCKED, set())
        # Locking again a case this transaction already holds waits for no one.
        if connection.info.get(_HEAD_TAKEN) and case_id not in locked:
            where = " <- ".join(
                f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno}:{frame.name}"
                for frame in traceback.extract_stack()
                if "/mediation/" in frame.filename or "/tests/" in frame.filename
            )
            VIOLATIONS.append(f"{_test()}: case {case_id} locked after the audit head, {where}")
        locked.add(case_id)


def _test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "outside a test")


def _case_id(parameters: Any) -> Any:
    """The case's id among the lock's parameters (a dict on PostgreSQL, a tuple on SQLite)."""
    if isinstance(parameters, dict):
        return next(iter(parameters.values()), None)
    return parameters[-1] if parameters else None


def _transaction_ended(connection: Connection) -> None:
    connection.info.pop(_HEAD_TAKEN, None)
    connection.info.pop(_LOCKED, None)


def _returned(dbapi_connection: Any, record: Any) -> None:
    # A transaction the pool ended by resetting it.
    record.info.pop(_HEAD_TAKEN, None)
    record.info.pop(_LOCKED, None)


def _inserted(mapper: Any, connection: Connection, target: Any) -> None:
    """A case made in this transaction: no one else sees it, so locking it waits for no one."""
    connection.info.setdefault(_LOCKED, set()).add(target.id)


def install() -> None:
    from mediation.models.cases import Case

    event.listen(Case, "after_insert", _inserted)
    event.listen(Engine, "before_cursor_execute", _executing)
    event.listen(Engine, "commit", _transaction_ended)
    event.listen(Engine, "rollback", _transaction_ended)
    event.listen(Pool, "checkin", _returned)


def summary() -> str:
    return f"lock order guard: {_checked[0]} case locks checked, none after the audit head"
