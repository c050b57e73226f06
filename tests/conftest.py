"""Test fixtures: an app on a freshly migrated database (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), a client, a CLI runner and factories for staff users.

On PostgreSQL the run works in databases of its own on that server, named after the given
database and a random mark of the run (`test_mtest_1a2b3c4d`, say), made here and dropped
at the end, so that two runs at once on one server keep out of each other's way. The given
database is only connected to, to make and drop them."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from mediation import create_app
from mediation.extensions import db
from mediation.models.staff import StaffUser
from mediation.services import accounts, keyring
from mediation.services.audit import Actor
from mediation.vault import use_fast_parameters_for_tests
from tests import lock_order_guard, log_guard

use_fast_parameters_for_tests()
log_guard.install()
lock_order_guard.install()

GIVEN_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = GIVEN_DATABASE_URL.startswith("postgresql")
GIVEN_DATABASE = (make_url(GIVEN_DATABASE_URL).database or "test") if ON_POSTGRES else ""
# The only databases a run makes, each marked with the run: `test_mtest_1a2b3c4d`, say.
RUN_DATABASES = (
    GIVEN_DATABASE,
    "mediation_migration_test",
    "mediation_queue_dates_test",
    "mediation_restore_test",
)
RUN_MARK = f"_mtest_{secrets.token_hex(4)}"
_MARKED = re.compile(
    "^(?:" + "|".join(re.escape(name) for name in RUN_DATABASES) + ")(_mtest_[0-9a-f]{8})$"
)
# Held for the whole run: a PostgreSQL advisory lock named after the run, which tells any
# other run (on any host) that this one's databases are in use. The server releases it
# when this process's connection ends, however the run ends.
_run_lock: list[Connection] = []


@contextmanager
def counted(source: Flask | Engine) -> Iterator[list[str]]:
    """Every SQL statement run inside, as sent, on the engine given or the app's engine."""
    if isinstance(source, Flask):
        with source.app_context():
            source = db.engine
    statements: list[str] = []

    def note(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(source, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(source, "before_cursor_execute", note)


def run_database(name: str) -> str:
    """The URL of this run's own database `name` (marked with the run) on the given server."""
    assert name in RUN_DATABASES
    return (
        make_url(GIVEN_DATABASE_URL)
        .set(database=f"{name}{RUN_MARK}")
        .render_as_string(hide_password=False)
    )


def _admin() -> Engine:
    return create_engine(GIVEN_DATABASE_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _hold_run_lock() -> None:
    if not _run_lock:
        connection = _admin().connect()
        connection.execute(text("SELECT pg_advisory_lock(hashtext(:mark))"), {"mark": RUN_MARK})
        _run_lock.append(connection)


def create_run_database(name: str) -> str:
    """Make this run's database `name` afresh (empty) and return its URL."""
    _hold_run_lock()
    url = run_database(name)
    admin = _admin()
    with admin.connect() as connection:
        _drop(connection, str(make_url(url).database))
        connection.execute(text(f'CREATE DATABASE "{make_url(url).database}"'))
    admin.dispose()
    return url


def drop_run_database(url: str) -> None:
    admin = _admin()
    with admin.connect() as connection:
        _drop(connection, str(make_url(url).database))
    admin.dispose()


def _drop(connection: Connection, database: str) -> None:
    assert _MARKED.match(database), database
    connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def _drop_databases_of_ended_runs() -> None:
    """Databases left by runs killed before their clean-up: those whose run's advisory lock
    no one holds any longer. A live run's (on this host or another) are left alone."""
    admin = _admin()
    with admin.connect() as connection:
        names = connection.execute(text("SELECT datname FROM pg_database")).scalars().all()
        marked: dict[str, list[str]] = {}
        for name in names:
            found = _MARKED.match(name)
            if found and found.group(1) != RUN_MARK:
                marked.setdefault(found.group(1), []).append(name)
        for mark, databases in marked.items():
            lock = {"mark": mark}
            ended = connection.execute(text("SELECT pg_try_advisory_lock(hashtext(:mark))"), lock)
            if ended.scalar():
                for database in databases:
                    _drop(connection, database)
                connection.execute(text("SELECT pg_advisory_unlock(hashtext(:mark))"), lock)
    admin.dispose()


# The database the run's tests use: this run's own on PostgreSQL (see above).
TEST_DATABASE_URL = run_database(GIVEN_DATABASE) if ON_POSTGRES else ""
TEST_PASSWORD = "correct horse battery staple"


def base_config(database_url: str, instance_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "VAULT_KDF_PROFILE": "test",
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "DEMO_MODE": False,
        "SERVER_NAME": "localhost",
        "MEDIATION_INSTANCE_PATH": str(instance_path),
    }


def migrate_to_head(database_url: str, instance_path: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(base_config(database_url, instance_path))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def case_officer_set_up_by_link(email: str, name: str = "New Officer") -> StaffUser:
    """What the admin can do: create a case officer, and the set-up link used (by them or
    by the admin). They hold no case's key until a custodian admits them."""
    created = accounts.create_staff_user(
        db.session, Actor.system("admin"), email=email, name=name, role="case_officer"
    )
    db.session.commit()
    assert created.setup_token is not None
    user, _ = accounts.complete_setup(db.session, created.setup_token, TEST_PASSWORD)
    db.session.commit()
    return user


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once per run: a template SQLite file to copy, or this run's PostgreSQL
    database (dropped once the run ends)."""
    folder = tmp_path_factory.mktemp("db")
    if ON_POSTGRES:
        _drop_databases_of_ended_runs()
        url = create_run_database(GIVEN_DATABASE)
        migrate_to_head(url, folder)
        yield url
        drop_run_database(url)
        return
    template = folder / "template.sqlite3"
    migrate_to_head(f"sqlite:///{template}", folder)
    yield str(template)


def _empty_postgres(app: Flask) -> None:
    tables = ", ".join(
        table.name for table in db.metadata.sorted_tables if table.name != "alembic_version"
    )
    with db.engine.begin() as connection:
        # Replica mode skips the audit log's append-only triggers, for cleaning up only.
        connection.execute(text("SET session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(
            text("INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, :genesis)"),
            {"genesis": "0" * 64},
        )
        # A fresh token: the database now holds other cases than it did at this version.
        connection.execute(
            text("INSERT INTO queue_version (id, token, version) VALUES (1, :token, 0)"),
            {"token": secrets.token_hex(16)},
        )
        connection.execute(text("SET session_replication_role = DEFAULT"))


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> str:
    if ON_POSTGRES:
        return migrated_template
    copy = tmp_path / "test.sqlite3"
    shutil.copyfile(migrated_template, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    return base_config(database_url, instance)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(app_config)
    with application.app_context():
        if ON_POSTGRES:
            _empty_postgres(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def throttled_app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """An app with sign-in throttling switched on (in-memory counters, fresh per test)."""
    application = create_app({**app_config, "RATELIMIT_ENABLED": True})
    with application.app_context():
        if ON_POSTGRES:
            _empty_postgres(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@dataclass
class StaffLogin:
    """A created staff user with the secrets a test needs to sign them in."""

    id: int
    email: str
    role: str
    password: str
    totp_secret: str


class StaffFactory:
    """Creates staff users with a password, a key pair and an authenticator."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.count = 0

    def __call__(self, role: str, *, body_id: int | None = None, **extra: Any) -> StaffLogin:
        self.count += 1
        email = extra.pop("email", f"{role}{self.count}@staff.example.org")
        with self.app.app_context():
            if role == "respondent" and body_id is None:
                body_id = self.body()
            created = accounts.create_staff_user(
                db.session,
                Actor.system("test"),
                email=email,
                name=extra.pop("name", f"Test {role.replace('_', ' ')} {self.count}"),
                role=role,
                respondent_body_id=body_id,
                password=TEST_PASSWORD,
                is_demo=extra.pop("is_demo", False),
            )
            if role == "case_officer" and extra.pop("custodian", True):
                keyring.admit_as_custodian(db.session, created.user, by=None)
            secret = pyotp.random_base32()
            accounts.store_totp_secret(db.session, created.user, secret)
            db.session.commit()
            return StaffLogin(created.user.id, email, role, TEST_PASSWORD, secret)

    def body(self, name: str = "Marsh County Council") -> int:
        from sqlalchemy import select

        from mediation.models.bodies import RespondentBody

        existing = db.session.execute(
            select(RespondentBody.id).where(RespondentBody.name == name)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
        body = RespondentBody(
            name=name, body_type="local_authority", region="north_west", compact="local"
        )
        db.session.add(body)
        db.session.flush()
        return body.id


@pytest.fixture
def make_staff(app: Flask) -> StaffFactory:
    return StaffFactory(app)


def current_code(secret: str, offset: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    import time

    return totp.at(time.time() + offset * 30)


class AuthActions:
    """Sign a staff user in through the real two-step form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def sign_in(self, login: StaffLogin, code: str | None = None) -> Any:
        response = self.client.post(
            "/sign-in", data={"email": login.email, "password": login.password}
        )
        assert response.status_code == 302, response.text
        if response.headers["Location"].endswith("/sign-in/code"):
            response = self.client.post(
                "/sign-in/code", data={"code": code or current_code(login.totp_secret)}
            )
        return response

    def sign_out(self) -> Any:
        return self.client.post("/sign-out")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def user_row(app: Flask, user_id: int) -> StaffUser:
    with app.app_context():
        user = db.session.get(StaffUser, user_id)
        assert user is not None
        return user


@pytest.fixture(autouse=True)
def _keeps_the_lock_order() -> Iterator[None]:
    """Fail the test whose transactions locked a case after the audit head (see
    tests/lock_order_guard.py); the run fails too, for any found outside a test."""
    before = len(lock_order_guard.VIOLATIONS)
    yield
    found = lock_order_guard.VIOLATIONS[before:]
    if found:
        pytest.fail("lock order: " + "; ".join(found), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any seeded secret or generated passphrase reached a log record, or
    if any transaction took a case's lock after the audit log's head."""
    writer = session.config.get_terminal_writer()
    if lock_order_guard.VIOLATIONS:
        found_order = "\n  ".join(lock_order_guard.VIOLATIONS)
        writer.line(f"\nLOCK ORDER FAILURE:\n  {found_order}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        writer.line("\n" + lock_order_guard.summary())
    found = log_guard.leaks()
    if found:
        writer.line(f"\nPRIVACY FAILURE: secrets reached the log of this run: {found}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        writer.line(
            f"\nlog guard: {len(log_guard.HANDLER.lines)} log records searched, "
            f"{len(log_guard.GENERATED_PASSPHRASES)} passphrases checked, no secret found"
        )
