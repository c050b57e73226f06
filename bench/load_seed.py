"""The load test's database: a fresh PostgreSQL schema with staff accounts and sealed cases."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
from sqlalchemy import create_engine, make_url, text

from mediation import create_app
from mediation.extensions import db

PASSWORD = "load-test-password-not-secret"  # noqa: S105  (throwaway load-test accounts)
NARRATIVE = "Load test complaint: the grant was cut with two weeks' notice and no reasons."


@dataclass
class Account:
    email: str
    role: str
    totp_secret: str
    password: str = PASSWORD
    identity_cases: list[str] = field(default_factory=list)


@dataclass
class Seeded:
    accounts: list[Account]
    references: list[str]
    body_id: int


def base_config(database_url: str, instance: Path, *, fast_keys: bool = False) -> dict[str, Any]:
    return {
        "SECRET_KEY": "load-test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MEDIATION_INSTANCE_PATH": str(instance),
        "VAULT_KDF_PROFILE": "test" if fast_keys else "production",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def prepare_database(database_url: str, instance: Path) -> None:
    """Create the database if needed, empty it and migrate it to the head revision."""
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise SystemExit("the load test runs on PostgreSQL: set LOAD_DATABASE_URL")
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    server.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    from flask_migrate import upgrade

    app = create_app(base_config(database_url, instance))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _create_accounts(app: Any, body_id: int, roles: dict[str, int]) -> list[Account]:
    from mediation.services import accounts, keyring
    from mediation.services.audit import Actor

    made: list[Account] = []
    with app.app_context():
        for role, count in roles.items():
            for number in range(1, count + 1):
                email = f"{role.replace('_', '-')}{number}@load.example.org"
                created = accounts.create_staff_user(
                    db.session,
                    Actor.system("load-test"),
                    email=email,
                    name=f"Load {role.replace('_', ' ')} {number}",
                    role=role,
                    respondent_body_id=body_id if role == "respondent" else None,
                    password=PASSWORD,
                )
                if role == "case_officer":
                    keyring.admit_as_custodian(db.session, created.user, by=None)
                secret = pyotp.random_base32()
                accounts.store_totp_secret(db.session, created.user, secret)
                made.append(Account(email, role, secret))
        db.session.commit()
    return made


def seed(database_url: str, instance: Path, *, cases: int, roles: dict[str, int]) -> Seeded:
    """Staff with production-strength keys; cases sealed with cheap complainant keys (only
    the complainant's passphrase derivation is cheapened, to keep seeding quick)."""
    from mediation.models.bodies import RespondentBody
    from mediation.models.staff import StaffUser
    from mediation.services import complaints, identity_access, keyring

    app = create_app(base_config(database_url, instance))
    with app.app_context():
        body = RespondentBody(
            name="Marsh County Council",
            body_type="local_authority",
            region="north_west",
            compact="local",
        )
        db.session.add(body)
        db.session.commit()
        body_id = body.id
    made = _create_accounts(app, body_id, roles)
    by_role = {role: [a for a in made if a.role == role] for role in roles}

    fast = create_app(base_config(database_url, instance, fast_keys=True))
    references: list[str] = []
    rng = random.Random(8)
    with fast.app_context():
        users = {
            a.email: db.session.execute(
                db.select(StaffUser).where(StaffUser.email == a.email)
            ).scalar_one()
            for a in made
        }
        officer = users[by_role["case_officer"][0].email]
        officer_key = keyring.unlock(db.session, officer, PASSWORD)
        assert officer_key is not None
        mediators = itertools.cycle(by_role.get("mediator", []))
        for number in range(cases):
            openness = rng.choice(["anonymous", "confidential", "confidential", "open"])
            identity = None
            if openness != "anonymous":
                identity = {
                    "organisation": f"Load Test Group {number}",
                    "contact_name": "A Person",
                    "email": f"group{number}@example.org",
                    "region": "north_west",
                    "size_band": "micro",
                }
            filed = complaints.file_complaint(
                db.session,
                openness=openness,
                narrative=NARRATIVE,
                identity=identity,
                respondent_body_id=body_id,
            )
            references.append(filed.reference)
            if by_role.get("mediator"):
                mediator = next(mediators)
                identity_access.assign_mediator(
                    db.session, officer, officer_key, filed.case, users[mediator.email]
                )
                if identity is not None and len(mediator.identity_cases) < 5:
                    asked = identity_access.request_identity(
                        db.session, users[mediator.email], filed.case, "To arrange a session"
                    )
                    identity_access.decide_identity_request(
                        db.session,
                        officer,
                        officer_key,
                        asked.id,
                        approve=True,
                        reason="Agreed for the load test",
                    )
                    mediator.identity_cases.append(filed.reference)
            if number % 50 == 49:
                db.session.commit()
        db.session.commit()
        db.engine.dispose()
    with app.app_context():
        db.engine.dispose()
    return Seeded(made, references, body_id)
