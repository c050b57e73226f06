"""The audit log is append-only and hash-chained; tampering is found and named."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from mediation.extensions import db
from mediation.models.audit import AuditEntry
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


def rebuild_from(seq: int, reason: str) -> None:
    """What someone who can write the database could do: edit an entry and recompute every
    hash after it, and the head, so that the chain alone verifies."""
    entries = db.session.execute(
        select(AuditEntry).where(AuditEntry.seq >= seq).order_by(AuditEntry.seq)
    ).scalars()
    previous = (
        db.session.execute(
            select(AuditEntry.entry_hash).where(AuditEntry.seq == seq - 1)
        ).scalar_one_or_none()
        or audit.GENESIS_HASH
    )
    rewritten = []
    for entry in entries:
        if entry.seq == seq:
            entry.reason = reason
        entry.prev_hash = previous
        entry.entry_hash = previous = audit.digest_of(entry)
        rewritten.append((entry.seq, entry.reason, entry.prev_hash, entry.entry_hash))
    db.session.rollback()
    for number, why, prev_hash, entry_hash in rewritten:
        raw(
            "UPDATE audit_entries SET reason = :why, prev_hash = :prev, entry_hash = :hash "
            "WHERE seq = :seq",
            why=why,
            prev=prev_hash,
            hash=entry_hash,
            seq=number,
        )
    raw("UPDATE audit_head SET last_hash = :hash WHERE id = 1", hash=previous)
    db.session.expire_all()


def test_a_rebuilt_chain_passes_alone_but_not_against_an_anchor(app: Flask) -> None:
    with app.app_context():
        write_entries(3)
        anchor = audit.current_anchor(db.session)
        write_entries(2)
        rebuild_from(2, "a different reason")
        assert audit.verify(db.session).ok  # the chain alone cannot tell
        result = audit.verify(db.session, anchors=[anchor])
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "rewritten" in (result.problem or "")


def test_a_log_cut_back_below_an_anchor_is_found(app: Flask) -> None:
    with app.app_context():
        write_entries(4)
        anchor = audit.current_anchor(db.session)
        raw("DELETE FROM audit_entries WHERE seq >= 3")
        previous = db.session.execute(
            select(AuditEntry.entry_hash).where(AuditEntry.seq == 2)
        ).scalar_one()
        raw("UPDATE audit_head SET last_seq = 2, last_hash = :hash WHERE id = 1", hash=previous)
        db.session.expire_all()
        assert audit.verify(db.session).ok
        result = audit.verify(db.session, anchors=[anchor])
    assert not result.ok and "deleted from the end" in (result.problem or "")


def test_cli_anchor_and_verify_against_the_anchors(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.txt"
    with app.app_context():
        write_entries(2)
    printed = runner.invoke(args=["audit", "anchor", "--append", str(anchors)])
    assert printed.exit_code == 0 and printed.output.startswith("audit-anchor 2 ")
    assert anchors.read_text().strip() == printed.output.strip()
    with app.app_context():
        write_entries(1)
    ok = runner.invoke(args=["audit", "verify", "--anchors", str(anchors)])
    assert ok.exit_code == 0 and "all 1 anchors held" in ok.output
    with app.app_context():
        rebuild_from(1, "rewritten from the start")
    bad = runner.invoke(args=["audit", "verify", "--anchors", str(anchors)])
    assert bad.exit_code == 1 and "entry 2 is not the one anchored" in bad.output
    anchors.write_text("# nothing anchored yet\n")
    empty = runner.invoke(args=["audit", "verify", "--anchors", str(anchors)])
    assert empty.exit_code != 0 and "there is no anchor in it" in empty.output
    anchors.write_text("audit-anchor twelve\n")
    malformed = runner.invoke(args=["audit", "verify", "--anchors", str(anchors)])
    assert malformed.exit_code != 0 and "line 1 is not an anchor" in malformed.output


def test_entries_written_together_chain_as_if_written_one_by_one(app: Flask) -> None:
    """record_all moves the head once for several entries: they are numbered in order, each
    follows the one before, the head ends at the last, and a head this session had loaded
    before is read again rather than kept stale."""
    with app.app_context():
        write_entries(1)
        before = audit.current_anchor(db.session)  # loads the head into the session
        written = audit.record_all(
            db.session,
            Actor.complainant(),
            [
                audit.Entry("case.submitted", case_reference="CM-AAAA-BBBB"),
                audit.Entry(
                    "case.intake_received", case_reference="CM-AAAA-BBBB", details={"n": 2}
                ),
            ],
        )
        assert [entry.seq for entry in written] == [before.seq + 1, before.seq + 2]
        assert written[0].prev_hash == before.entry_hash
        assert written[1].prev_hash == written[0].entry_hash
        after = audit.current_anchor(db.session)
        assert (after.seq, after.entry_hash) == (before.seq + 2, written[1].entry_hash)
        db.session.commit()
        write_entries(1)
        result = audit.verify(db.session)
        stored = db.session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
    assert result.ok and result.checked == 4
    assert [entry.action for entry in stored][1:3] == ["case.submitted", "case.intake_received"]
    assert stored[2].details == {"n": 2}
