"""Backups (README, Backups): `backup create` while complaints keep being filed, `backup
restore` into a new, empty database behind a new app with another SECRET_KEY; then every
case opens for each of its holders, and `audit verify` passes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mediation import create_app
from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.staff import StaffUser
from mediation.services import case_queue, complaints, identity_access, keyring, queue_replica
from tests import seeded
from tests.casework.conftest import Driver, Staffed
from tests.conftest import (
    ON_POSTGRES,
    TEST_PASSWORD,
    base_config,
    create_run_database,
    drop_run_database,
)


@pytest.fixture
def restored(tmp_path: Path) -> Iterator[Flask]:
    """An app on a new, empty database (a new server), with a SECRET_KEY of its own."""
    instance = tmp_path / "restored-instance"
    instance.mkdir()
    if ON_POSTGRES:
        url = create_run_database("mediation_restore_test")
    else:
        url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    app = create_app({**base_config(url, instance), "SECRET_KEY": "another-servers-secret-key"})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if ON_POSTGRES:
        drop_run_database(url)


class Writer:
    """Files complaints one after another on a connection of its own until stopped."""

    def __init__(self, app: Flask, body_id: int) -> None:
        self.app = app
        self.body_id = body_id
        self.filed: dict[str, str] = {}  # reference: passphrase, once committed
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        with self.app.app_context():
            try:
                while not self.stop.is_set():
                    filed = seeded.file_seeded("confidential", body=self.body_id)
                    db.session.commit()
                    self.filed[filed.reference] = filed.passphrase
            except BaseException as exc:  # reported on the test's own thread
                self.errors.append(exc)
            finally:
                db.session.remove()

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while len(self.filed) < count:
            assert not self.errors, self.errors
            assert time.monotonic() < deadline, "the writer stalled"
            time.sleep(0.01)


def test_a_backup_made_while_writing_restores_every_case_for_its_holders(
    app: Flask, staffed: Staffed, driver: Driver, restored: Flask, tmp_path: Path
) -> None:
    mediated = driver.to("in_mediation")
    anonymous = driver.to("triage", openness="anonymous")
    confidential = driver.file("confidential")
    passphrases = {f.reference: f.passphrase for f in (mediated, anonymous, confidential)}
    # Read here: an expired attribute of the first app's objects read while the restored
    # app's context is current would be loaded from the restored database.
    officer_ids = (staffed.officer.id, staffed.second_officer.id)
    mediator_id = staffed.mediator.id
    backup = tmp_path / "backups" / "mediation.backup"
    backup.parent.mkdir()

    writer = Writer(app, staffed.body_id)
    writer.thread.start()
    try:
        writer.wait_for(3)
        before = set(writer.filed)
        made = app.test_cli_runner().invoke(args=["backup", "create", str(backup)])
        by_its_end = set(writer.filed)
        writer.wait_for(len(by_its_end) + 3)  # writes go on after the backup too
    finally:
        writer.stop.set()
        writer.thread.join(timeout=60)
    assert not writer.errors, writer.errors
    assert made.exit_code == 0, made.output
    assert "Backup written" in made.output and backup.stat().st_mode & 0o077 == 0
    passphrases.update(writer.filed)

    done = _invoke(restored, "backup", "restore", str(backup))
    assert done.exit_code == 0, done.output

    with restored.app_context():
        references = set(db.session.execute(select(Case.reference)).scalars())
        # Everything committed before the backup began is there; what came after is not.
        assert before | (set(passphrases) - set(writer.filed)) <= references
        assert not references & (set(writer.filed) - by_its_end), "a write made after it"
        assert references <= set(passphrases)
        officers = [_unlocked(user_id) for user_id in officer_ids]
        mediator = _unlocked(mediator_id)
        for reference in sorted(references):
            case = complaints.find_case(db.session, reference)
            assert case is not None
            # The complainant, with the passphrase alone.
            _, complainant = complaints.complainant_keypair(
                db.session, reference, passphrases[reference]
            )
            key = complaints.complainant_case_key(case, complainant)
            assert complaints.read_narrative(case, key) == seeded.NARRATIVE
            # Each custodian: the case and, for a confidential case, the identity.
            for user, user_key in officers:
                key = complaints.staff_case_key(db.session, user, user_key, case)
                assert complaints.read_narrative(case, key) == seeded.NARRATIVE
                # Each opening and view joins the restored audit chain: committed one by
                # one, as each request would (a case's lock comes before the log's head).
                db.session.commit()
                if case.identity is not None:
                    identity = identity_access.read_identity(
                        db.session, user, user_key, case, "Checking the restored backup"
                    )
                    assert identity["organisation"] == seeded.IDENTITY["organisation"]
                    db.session.commit()
            if reference == mediated.reference:
                key = complaints.staff_case_key(db.session, *mediator, case)
                assert complaints.read_narrative(case, key) == seeded.NARRATIVE
                db.session.commit()

    verified = _invoke(restored, "audit", "verify")
    assert verified.exit_code == 0 and "Audit log intact" in verified.output, verified.output


def _invoke(app: Flask, *args: str) -> Any:
    """A command of `app`, in its own app context (the casework fixtures hold the first
    app's context open, and a command would otherwise run in that one)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def _unlocked(user_id: int) -> tuple[StaffUser, Any]:
    user = db.session.get(StaffUser, user_id)
    assert user is not None
    key = keyring.unlock(db.session, user, TEST_PASSWORD)
    assert key is not None
    return user, key


def test_a_worker_left_running_shows_the_restored_queue_not_its_copy(
    app: Flask, staffed: Staffed, driver: Driver, restored: Flask, tmp_path: Path
) -> None:
    """The restored database is at an older queue version than a worker's copy of the
    queue; the restore's new token makes the worker read the queue again."""
    kept = driver.file("confidential")
    backup = tmp_path / "mediation.backup"
    assert app.test_cli_runner().invoke(args=["backup", "create", str(backup)]).exit_code == 0
    later = [driver.file("confidential"), driver.file("anonymous")]  # after the backup
    worker = queue_replica.of(app)
    assert worker is not None
    today = date.today()
    before = _queue(worker, today)
    assert {kept.reference, *(f.reference for f in later)} <= before

    done = _invoke(restored, "backup", "restore", str(backup))
    assert done.exit_code == 0, done.output
    with restored.app_context():
        # The same worker, now serving the restored database, as after a failover.
        assert _queue(worker, today) == _queue(None, today) == {kept.reference}


def _queue(replica: queue_replica.QueueReplica | None, today: date) -> set[str]:
    found = case_queue.build_queue(
        db.session,
        case_queue.QueueFilters(view="all"),
        today,
        page=1,
        page_size=50,
        replica=replica,
    )
    db.session.commit()
    return {row.case.reference for row in found.rows}


def test_restore_refuses_a_database_that_holds_tables(
    app: Flask, staffed: Staffed, driver: Driver, tmp_path: Path
) -> None:
    filed = driver.file("confidential")
    backup = tmp_path / "mediation.backup"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", "create", str(backup)]).exit_code == 0
    again = runner.invoke(args=["backup", "create", str(backup)])
    assert again.exit_code == 1 and "exists already" in again.output
    refused = runner.invoke(args=["backup", "restore", str(backup)])
    assert refused.exit_code == 1 and "already holds tables" in refused.output
    with app.app_context():
        assert complaints.find_case(db.session, filed.reference) is not None


def test_restore_shreds_again_a_case_past_its_retention_in_the_backup(
    app: Flask, staffed: Staffed, driver: Driver, restored: Flask, tmp_path: Path
) -> None:
    """G9: a backup made before a case was crypto-shredded still holds its sealed keys; the
    restore runs the retention purge, so the case does not come back."""
    expired = driver.to("closed")
    expired.case.closed_on = date.today() - timedelta(days=800)
    kept = driver.to("closed")
    db.session.commit()
    officer_id = staffed.officer.id  # read here, not from the restored database
    backup = tmp_path / "mediation.backup"
    assert app.test_cli_runner().invoke(args=["backup", "create", str(backup)]).exit_code == 0

    done = _invoke(restored, "backup", "restore", str(backup))
    assert done.exit_code == 0, done.output
    assert "destroyed the keys of 1 cases" in done.output
    assert expired.reference not in done.output  # counts only
    with restored.app_context():
        gone = complaints.find_case(db.session, expired.reference)
        assert gone is not None and gone.keys_destroyed_on == date.today()
        assert gone.narrative is None and gone.identity is None and gone.grants == []
        still = complaints.find_case(db.session, kept.reference)
        assert still is not None and still.keys_destroyed_on is None
        officer, key = _unlocked(officer_id)
        case_key = complaints.staff_case_key(db.session, officer, key, still)
        assert complaints.read_narrative(still, case_key) == seeded.NARRATIVE
        db.session.commit()
    verified = _invoke(restored, "audit", "verify")
    assert verified.exit_code == 0 and "Audit log intact" in verified.output, verified.output
