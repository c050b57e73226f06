"""Backups of the database while the service runs, and their restore into an empty one.

SQLite: Python's `sqlite3.Connection.backup` (SQLite's online backup API) copies every page
in one step under a read lock, so the copy is one consistent state of the database; writers
wait for it (up to the 30 s busy timeout) rather than fail. PostgreSQL: `pg_dump -Fc`, which
reads every table in one repeatable-read snapshot while writes go on; `pg_restore` loads it.
Either way the copy is first written beside its destination and renamed into place only
when whole, so a file at the destination is always a complete backup.

A backup holds only what the database holds: sealed fields, wrapped keys and the audit log
(G2: it opens nothing without a holder's password or passphrase). What restoring changes
besides the rows: the queue's token is drawn afresh (`new_queue_token`), so that a worker
still holding a copy of the queue from before the restore (`queue_replica`, `queue_cache`)
reads the whole queue again rather than take the restored, older version for one it holds.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, update
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session

from mediation.models.cases import QueueVersion
from mediation.services.errors import ServiceError


class BackupError(ServiceError):
    """A backup or restore that could not be made; the message says why."""


@dataclass(frozen=True)
class Made:
    """A backup written: where, how, and its size."""

    path: Path
    method: str
    size: int


def create(url: str | URL, destination: Path) -> Made:
    """Write a consistent backup of the database at `url` to `destination` (a new file)."""
    parsed = make_url(url)
    if destination.exists():
        raise BackupError(f"{destination} exists already: choose a new file for each backup.")
    if not destination.parent.is_dir():
        raise BackupError(f"There is no folder {destination.parent}.")
    partial = destination.with_name(f".{destination.name}.partial")
    partial.unlink(missing_ok=True)
    # Made readable by its owner only before a byte is written into it.
    os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            method = "SQLite online backup API"
            _sqlite_backup(_sqlite_path(parsed), partial)
        elif backend == "postgresql":
            method = "pg_dump -Fc"
            _run([_tool("pg_dump"), "--format=custom", "--file", str(partial)], parsed, "pg_dump")
        else:
            raise BackupError(f"No backup method for the {backend} database engine.")
        partial.rename(destination)
    finally:
        partial.unlink(missing_ok=True)
    return Made(destination, method, destination.stat().st_size)


def restore(url: str | URL, source: Path, engine: Engine) -> None:
    """Load the backup `source` into the database at `url`, which must hold no tables yet
    (`engine` is the app's, used to look and then let go of its connections)."""
    parsed = make_url(url)
    if not source.is_file():
        raise BackupError(f"There is no backup file {source}.")
    tables = inspect(engine).get_table_names()
    engine.dispose()
    if tables:
        raise BackupError(
            "The database to restore into already holds tables: restore only into a new, "
            "empty database (never over the one in use)."
        )
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _sqlite_restore(source, _sqlite_path(parsed))
    elif backend == "postgresql":
        _run(
            [
                _tool("pg_restore"),
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                "--no-privileges",
                str(source),
            ],
            parsed,
            "pg_restore",
        )
    else:
        raise BackupError(f"No restore method for the {backend} database engine.")


def new_queue_token(session: Session) -> str:
    """Draw the queue's token afresh after a restore. Caller commits."""
    token = secrets.token_hex(16)
    session.execute(update(QueueVersion).where(QueueVersion.id == 1).values(token=token))
    session.flush()
    return token


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database has nothing to back up or restore.")
    return Path(url.database)


def _sqlite_backup(database: Path, destination: Path) -> None:
    if not database.is_file():
        raise BackupError(f"There is no database file {database}.")
    with _sqlite(f"file:{database}?mode=ro") as source, _sqlite(str(destination)) as copy:
        source.backup(copy)  # every page in one step: one consistent state
        _check(copy, "the backup")


def _sqlite_restore(source: Path, database: Path) -> None:
    with _sqlite(f"file:{source}?mode=ro") as backup, _sqlite(str(database)) as target:
        _check(backup, str(source))
        found = backup.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        if not found or not found[0]:
            raise BackupError(f"{source} is not a backup of this service's database.")
        backup.backup(target)


@contextmanager
def _sqlite(address: str) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(address, uri=address.startswith("file:"), timeout=30)) as found:
        yield found


def _check(connection: sqlite3.Connection, what: str) -> None:
    try:
        result = connection.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} is not an SQLite database ({exc}).") from None
    if not result or result[0] != "ok":
        raise BackupError(f"{what} failed SQLite's check: {result[0] if result else 'no answer'}")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: install PostgreSQL's client programs "
            "(Debian: postgresql-client) of the server's major version or newer."
        )
    return found


def _run(command: list[str], url: URL, name: str) -> None:
    """Run a PostgreSQL client program on the database: the password goes in the
    environment (PGPASSWORD), never on the command line where `ps` would show it."""
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    address = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    finished = subprocess.run(  # noqa: S603 (pg_dump or pg_restore by full path, our own arguments, no shell)
        [*command, f"--dbname={address}"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        detail = finished.stderr.strip().splitlines()
        raise BackupError(f"{name} failed: {detail[-1] if detail else finished.returncode}")
