"""The audit log is append-only and hash-chained; tampering is found and named."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mediation.extensions import db
from mediation.services import audit
from mediation.services.audit import Actor
from tests.conftest import ON_POSTGRES


def write_entries(count: int) -> None:
    for number in range(count):
        audit.record(
            db.session,
            Actor(kind="staff", label="case_officer:a@example.org", id=1),
            "case.viewed",
            case_reference=f"CM-{number:04d}",
            reason="routine check",
            details={"n": number},
        )
    db.session.commit()


def raw(sql: str, **params: object) -> None:
    """Run SQL with the append-only triggers switched off, as a tampering operator would."""
    with db.engine.begin() as connection:
        if ON_POSTGRES:
            connection.execute(text("SET session_replication_role = replica"))
            connection.execute(text(sql), params)
            connection.execute(text("SET session_replication_role = DEFAULT"))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))
            connection.execute(text(sql), params)


def test_an_untouched_chain_verifies(app: Flask) -> None:
    with app.app_context():
        write_entries(5)
        result = audit.verify(db.session)
    assert result.ok and result.checked == 5


def test_the_database_refuses_updates_and_deletes(app: Flask) -> None:
    with app.app_context():
        write_entries(2)
        for statement in (
            "UPDATE audit_entries SET reason = 'changed' WHERE seq = 1",
            "DELETE FROM audit_entries WHERE seq = 2",
        ):
            with pytest.raises(DBAPIError), db.engine.begin() as connection:
                connection.execute(text(statement))
        assert audit.verify(db.session).ok


def test_an_edited_entry_is_named(app: Flask) -> None:
    with app.app_context():
        write_entries(5)
        raw("UPDATE audit_entries SET reason = 'nothing to see' WHERE seq = 3")
        db.session.expire_all()
        result = audit.verify(db.session)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "edited" in (result.problem or "")


def test_a_deleted_entry_is_named(app: Flask) -> None:
    with app.app_context():
        write_entries(5)
        raw("DELETE FROM audit_entries WHERE seq = 2")
        db.session.expire_all()
        result = audit.verify(db.session)
    assert not result.ok
    assert result.first_bad_seq == 2
    assert "missing" in (result.problem or "")


def test_entries_cut_from_the_end_are_found(app: Flask) -> None:
    with app.app_context():
        write_entries(5)
        raw("DELETE FROM audit_entries WHERE seq >= 4")
        db.session.expire_all()
        result = audit.verify(db.session)
    assert not result.ok
    assert result.first_bad_seq == 4


def test_an_inserted_entry_is_named(app: Flask) -> None:
    with app.app_context():
        write_entries(3)
        # Shift entry 3 to 4 and forge a new entry 3 that claims to follow entry 2.
        raw("UPDATE audit_entries SET seq = 4 WHERE seq = 3")
        raw(
            "INSERT INTO audit_entries (seq, occurred_at, actor_kind, actor_label, action, "
            "details, prev_hash, entry_hash) SELECT 3, occurred_at, 'staff', 'forger', "
            "'identity.viewed', details, entry_hash, :forged FROM audit_entries WHERE seq = 2",
            forged="f" * 64,
        )
        db.session.expire_all()
        result = audit.verify(db.session)
    assert not result.ok
    assert result.first_bad_seq == 3


def test_cli_verify_reports_the_first_bad_entry(app: Flask, runner: FlaskCliRunner) -> None:
    with app.app_context():
        write_entries(4)
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "4 entries checked" in ok.output
    with app.app_context():
        raw("UPDATE audit_entries SET actor_label = 'someone else' WHERE seq = 2")
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1
    assert "entry 2" in bad.output


def test_concurrent_writers_keep_one_chain(app: Flask) -> None:
    import threading

    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with app.app_context():
                for _ in range(10):
                    audit.record(db.session, Actor.system("t"), "tick")
                    db.session.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    if not ON_POSTGRES:
        threads = threads[:1]  # SQLite serialises writers itself; one is enough there
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        result = audit.verify(db.session)
    assert result.ok and result.checked == 10 * len(threads)
