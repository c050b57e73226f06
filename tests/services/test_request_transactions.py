"""How a request's transaction ends: COMMIT when it only read (so that PostgreSQL keeps the
connection's prepared statements), ROLLBACK whenever anything was written and not
committed, or the request failed: never a partial write."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import event, insert, select, text

from mediation.extensions import db
from mediation.models.settings import Setting
from tests.conftest import ON_POSTGRES


def endings(app: Flask) -> list[str]:
    seen: list[str] = []
    with app.app_context():
        event.listen(db.engine, "commit", lambda conn: seen.append("commit"))
        event.listen(db.engine, "rollback", lambda conn: seen.append("rollback"))
    return seen


def stored(app: Flask, key: str) -> bool:
    with app.app_context():
        found = db.session.execute(select(Setting).where(Setting.key == key)).first()
        db.session.rollback()
        return found is not None


def test_a_request_that_only_read_ends_with_commit(app: Flask) -> None:
    seen = endings(app)
    with app.app_context():
        db.session.execute(select(Setting)).all()
    assert seen == ["commit"]


def test_a_flushed_write_that_was_not_committed_is_rolled_back(app: Flask) -> None:
    seen = endings(app)
    with app.app_context():
        db.session.add(Setting(key="flushed_only", value=1))
        db.session.flush()
    assert "commit" not in seen
    assert not stored(app, "flushed_only")


def test_a_write_before_a_savepoint_is_still_rolled_back(app: Flask) -> None:
    with app.app_context():
        db.session.add(Setting(key="before_savepoint", value=1))
        db.session.flush()
        with db.session.begin_nested():
            db.session.execute(select(Setting)).all()
    assert not stored(app, "before_savepoint")


def test_an_unflushed_change_is_rolled_back(app: Flask) -> None:
    with app.app_context():
        db.session.execute(select(Setting)).all()
        db.session.add(Setting(key="pending_only", value=1))
    assert not stored(app, "pending_only")


def test_a_core_or_textual_write_is_rolled_back(app: Flask) -> None:
    with app.app_context():
        db.session.execute(insert(Setting.__table__).values(key="core_insert", value="1"))
    with app.app_context():
        db.session.execute(text("INSERT INTO settings (key, value) VALUES ('text_insert', '1')"))
    assert not stored(app, "core_insert")
    assert not stored(app, "text_insert")


def test_a_request_that_failed_is_rolled_back(app: Flask) -> None:
    seen = endings(app)
    with pytest.raises(RuntimeError), app.app_context():
        db.session.execute(select(Setting)).all()
        raise RuntimeError("the view failed")
    assert seen == ["rollback"]


@pytest.mark.skipif(not ON_POSTGRES, reason="prepared statements: psycopg on PostgreSQL")
def test_prepared_statements_outlive_read_only_requests_on_postgresql(app: Flask) -> None:
    statement = select(Setting.key).where(Setting.key == "prepared_statement_probe")
    for _ in range(8):  # psycopg prepares a statement after it has run 5 times
        with app.app_context():
            db.session.execute(statement).all()
    with app.app_context():
        prepared = db.session.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :probe"),
            {"probe": "%FROM settings%"},
        ).scalar_one()
    assert prepared >= 1
