"""Every Alembic revision upgrades and downgrades cleanly, on the engine under test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from mediation import PROJECT_ROOT, create_app
from mediation.extensions import db
from tests.conftest import ON_POSTGRES, base_config, create_run_database, drop_run_database

MIGRATION_DATABASE = "mediation_migration_test"


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    url = create_run_database(MIGRATION_DATABASE)
    yield url
    drop_run_database(url)


def revisions() -> list[str]:
    script = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_every_revision_upgrades_and_downgrades(empty_database_url: str, tmp_path: Path) -> None:
    app = create_app(base_config(empty_database_url, tmp_path))
    with app.app_context():
        steps = revisions()
        assert steps, "there should be at least one revision"
        for revision in steps:
            upgrade(revision=revision)
            downgrade(revision="-1")
            upgrade(revision=revision)
        tables = set(inspect(db.engine).get_table_names())
        assert {"staff_users", "audit_entries", "audit_head"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_models_match_the_migrations(empty_database_url: str, tmp_path: Path) -> None:
    """Autogenerate finds nothing to add: the schema exists only through migrations."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    app = create_app(base_config(empty_database_url, tmp_path))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert differences == []


def test_authenticator_secrets_kept_in_the_clear_are_sealed_by_the_upgrade(
    empty_database_url: str, tmp_path: Path
) -> None:
    import pyotp

    from mediation.models.staff import StaffUser
    from mediation.services import accounts, keyring
    from mediation.services.audit import Actor
    from tests.conftest import TEST_PASSWORD

    app = create_app(base_config(empty_database_url, tmp_path))
    secret = pyotp.random_base32()
    with app.app_context():
        # The accounts are made as today's code makes them, at the head (the models
        # describe the head's tables), then the schema goes back to before 0012.
        upgrade()
        created = accounts.create_staff_user(
            db.session,
            Actor.system("test"),
            email="officer@example.org",
            name="Officer",
            role="case_officer",
            password=TEST_PASSWORD,
        )
        without_key = accounts.create_staff_user(
            db.session, Actor.system("test"), email="new@example.org", name="New", role="analyst"
        )
        db.session.commit()
        made = (created.user.id, without_key.user.id)
        db.session.remove()
        downgrade(revision="0011_case_reasons")
        for user_id in made:
            db.session.execute(
                text("UPDATE staff_users SET totp_secret = :secret WHERE id = :id"),
                {"secret": secret, "id": user_id},
            )
        db.session.commit()
        upgrade()
        db.session.expire_all()
        user = db.session.get(StaffUser, made[0])
        assert user is not None and user.totp_secret is not None
        assert user.totp_secret.startswith("sealed:") and secret not in user.totp_secret
        keypair = keyring.unlock(db.session, user, TEST_PASSWORD)
        assert accounts.totp_secret_of(user, keypair) == secret
        unset = db.session.get(StaffUser, made[1])
        assert unset is not None and unset.totp_secret is None  # no key: set up again
        db.session.remove()
        db.engine.dispose()
