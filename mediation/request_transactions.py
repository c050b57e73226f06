"""How a request's transaction ends: COMMIT when it only read, so that PostgreSQL keeps the
connection's prepared statements; ROLLBACK, as before, when anything was written and not
committed.

psycopg prepares a statement on a connection once it has run it a few times, and forgets
every prepared statement whenever that connection rolls back. Flask-SQLAlchemy ends each
request by closing its session, which rolls back, so the case queue's statement was planned
afresh on every request. Here a request whose connections ran nothing but SELECTs ends
with COMMIT instead: there is nothing to commit, so the data are as a rollback would leave
them. A request that wrote (an INSERT, UPDATE, DELETE or any statement that is not a
SELECT or a SET LOCAL) and did not commit is still rolled back, so no partial write can land
this way.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

_WROTE = "mediation_wrote"
_READS = ("SELECT", "WITH", "SET LOCAL ")


def _began(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    if transaction.nested:
        return  # a savepoint inside the transaction: what the transaction wrote still counts
    connection.info[_WROTE] = False


def _executing(
    connection: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    dml = context is not None and (context.isinsert or context.isupdate or context.isdelete)
    if dml or not statement.lstrip()[:10].upper().startswith(_READS):
        connection.info[_WROTE] = True


def wrote(connection: Connection) -> bool:
    """Whether the connection's transaction has written anything (so far as this module has
    seen: a connection it has not seen begin counts as having written)."""
    return bool(connection.info.get(_WROTE, True))


def install(app: Flask) -> None:
    """Register after Flask-SQLAlchemy: teardown functions run last-registered first, so
    this sees the session before Flask-SQLAlchemy removes it."""
    from mediation.extensions import db

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _executing)
    if not event.contains(Session, "after_begin", _began):
        event.listen(Session, "after_begin", _began)

    @app.teardown_appcontext
    def end_read_only_transaction(error: BaseException | None) -> None:
        if not db.session.registry.has():
            return
        session = db.session()
        if error is not None or not session.in_transaction():
            return
        if session.new or session.dirty or session.deleted:
            return  # unflushed changes: left to the rollback
        # As closing the session would, leave loaded objects as they are (not expired), so
        # that anything still holding one after the request can read it.
        expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
        try:
            # One bind (the app's database): this is the transaction's connection.
            if not session.connection().info.get(_WROTE, True):
                session.commit()
        except SQLAlchemyError:
            session.rollback()  # then Flask-SQLAlchemy's own teardown closes the session
        finally:
            session.expire_on_commit = expire_on_commit


def commit_and_keep_loaded(session: Session) -> None:
    """Commit now (a read's audit entry, which must land before what was read is shown),
    leaving what the request loaded as it is rather than expired: the page then shows what
    the committed transaction read, without reading each object again."""
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit
