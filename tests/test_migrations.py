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


def test_offers_left_waiting_on_cases_that_moved_on_are_ended_by_the_upgrade(
    empty_database_url: str, tmp_path: Path
) -> None:
    from datetime import date

    from mediation.models.cases import Case, SealedKey
    from mediation.models.casework import MediatorOffer
    from mediation.services import accounts
    from mediation.services.audit import Actor
    from tests import seeded
    from tests.conftest import TEST_PASSWORD

    app = create_app(base_config(empty_database_url, tmp_path))
    with app.app_context():
        upgrade()
        officer = accounts.create_staff_user(
            db.session,
            Actor.system("test"),
            email="officer@example.org",
            name="Officer",
            role="case_officer",
            password=TEST_PASSWORD,
        ).user
        from mediation.services import keyring

        keyring.admit_as_custodian(db.session, officer, by=None)
        mediator = accounts.create_staff_user(
            db.session,
            Actor.system("test"),
            email="mediator@example.org",
            name="Mediator",
            role="mediator",
            password=TEST_PASSWORD,
        ).user
        cases = [seeded.file_seeded().case for _ in range(2)]
        db.session.flush()
        for case, state in zip(cases, ("withdrawn", "mediator_appointed"), strict=True):
            case.state = state
            case.mediator_id = mediator.id
            grant = next(g for g in case.grants if g.holder_user_id == officer.id)
            db.session.add(
                SealedKey(
                    case_id=case.id,
                    key_kind=grant.key_kind,
                    holder_kind="staff",
                    holder_user_id=mediator.id,
                    holder_key_id=grant.holder_key_id,
                    envelope=grant.envelope,
                )
            )
            db.session.add(
                MediatorOffer(
                    case_id=case.id,
                    mediator_id=mediator.id,
                    status="accepted",
                    offered_on=date(2026, 11, 2),
                    pending_case_key=b"sealed",
                )
            )
        db.session.commit()
        left, waiting = (c.id for c in cases)
        mediator_id = mediator.id
        db.session.remove()
        downgrade(revision="0017_staff_api_tokens")
        upgrade()
        offers = {o.case_id: o for o in db.session.query(MediatorOffer).all()}
        assert offers[left].status == "cancelled" and offers[left].pending_case_key is None
        assert offers[waiting].status == "accepted"  # its case still waits for the answer
        held = {(k.case_id, k.holder_user_id) for k in db.session.query(SealedKey).all()}
        assert (left, mediator_id) not in held and (waiting, mediator_id) in held
        withdrawn = db.session.get(Case, left)
        assert withdrawn is not None and withdrawn.mediator_id is None
        db.session.remove()
        db.engine.dispose()
