"""Throwaway databases for the page and intake benchmarks, and cases written in bulk.

Bulk cases go straight into the tables with Core inserts: the metadata the pages read
(state, dates, body, mediator, flags), their clocks, breaches, triage records, funding
checks, mediation sessions and approved statements, and sealed columns filled with random
bytes of the size real envelopes have, so that rows are as wide as real ones. The queue's
copies on the case row (its nearest running deadline and next funding check, which the
app keeps at every flush) are worked out from the clocks and checks written. No key is
sealed for them (no page measured here opens a bulk case); the cases a page opens are
filed through the real services by the benchmark itself.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pyotp
from sqlalchemy import create_engine, func, insert, make_url, select, text
from sqlalchemy.orm import Session

from mediation import create_app
from mediation.domain import clocks
from mediation.domain.calendar import add_working_days
from mediation.extensions import db
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case
from mediation.models.casework import (
    CaseClock,
    DisclosureStatement,
    FundingCheck,
    MediationSession,
    TriageRecord,
)
from mediation.models.intake import CaseBreach
from mediation.services import case_clocks
from mediation.services.demo_statistics import CATEGORY_WEIGHTS
from mediation.vault import PASSPHRASE_KDF

PASSWORD = "bench-staff-password-not-secret"  # noqa: S105  (throwaway benchmark accounts)
SECRET_KEY = "bench-secret-key-not-for-production"  # noqa: S105
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CHUNK = 5_000
YEARS = 5
RETENTION_DAYS = 365

# Where a live case is, by the share of its eventual duration already behind it.
LADDER = (
    "submitted",
    "acknowledged",
    "triage",
    "mediation_offered",
    "mediator_appointed",
    "in_mediation",
    "agreement",
    "implementation_check",
)
LADDER_SHARES = (0.04, 0.08, 0.25, 0.4, 0.5, 0.75, 0.85, 1.0)
SIDE_STATES = {  # states off the ladder, and how often a live case is in each
    "on_hold": 0.04,
    "informal_resolution": 0.06,
    "no_agreement": 0.02,
    "withdrawn": 0.01,
    "referred": 0.01,
    "closure_contested": 0.005,
}
CATEGORIES = CATEGORY_WEIGHTS  # as often as the demo statistics file them
# Sealed column sizes of a real case (HPKE envelopes: the plaintext padded, then about
# 66 bytes more).
NARRATIVE_BYTES = 2_400
IDENTITY_BYTES = 260
SEALED_COLUMNS = (
    "case_public_key",
    "case_key_id",
    "identity_public_key",
    "identity_key_id",
    "narrative",
    "identity",
    "identity_copy",
)


@dataclass
class Login:
    """A benchmark staff account and what signing it in takes."""

    id: int
    email: str
    role: str
    totp_secret: str
    password: str = PASSWORD


def app_config(database_url: str, instance: Path, **extra: Any) -> dict[str, Any]:
    """Production settings except the throwaway secret key, database and rate-limit store.
    The KDF profile is production's unless the caller says otherwise."""
    return {
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MEDIATION_INSTANCE_PATH": str(instance),
        "RATELIMIT_STORAGE_URI": "memory://",
        "VAULT_KDF_PROFILE": "production",
        **extra,
    }


def fresh_database(engine_name: str, folder: Path, server_url: str | None, name: str) -> str:
    """An empty database: a new SQLite file, or PostgreSQL database `name` (re)created."""
    if engine_name == "sqlite":
        path = folder / f"{name}.sqlite3"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    assert server_url is not None
    admin = create_engine(
        make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(engine_name: str, server_url: str | None, name: str) -> None:
    if engine_name != "postgresql" or server_url is None:
        return
    admin = create_engine(
        make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def migrated_app(database_url: str, instance: Path, **extra: Any) -> Any:
    """The app on a database migrated to head, with the bundled list of public bodies."""
    from flask_migrate import upgrade

    from mediation.services.audit import Actor
    from mediation.services.bodies import load_bodies_csv

    instance.mkdir(parents=True, exist_ok=True)
    app = create_app(app_config(database_url, instance, **extra))
    with app.app_context():
        upgrade()
        csv_text = resources.files("mediation.data").joinpath("respondent_bodies.csv").read_text()
        load_bodies_csv(db.session, Actor.system("bench"), csv_text)
        db.session.commit()
    return app


def create_staff(session: Session, role: str, email: str, body_id: int | None = None) -> Login:
    """A staff account with a password, an authenticator and a key pair (wrapped with the
    app's KDF profile). Caller commits."""
    from mediation.services import accounts, keyring
    from mediation.services.audit import Actor

    created = accounts.create_staff_user(
        session,
        Actor.system("bench"),
        email=email,
        name=f"Bench {role.replace('_', ' ')}",
        role=role,
        respondent_body_id=body_id,
        password=PASSWORD,
    )
    if role == "case_officer":  # a custodian: new cases are sealed to them
        keyring.admit_as_custodian(session, created.user, by=None)
    secret = pyotp.random_base32()
    accounts.store_totp_secret(session, created.user, secret)
    session.flush()
    return Login(created.user.id, email, role, secret)


def bodies(session: Session) -> list[tuple[int, str]]:
    return [
        (row.id, row.body_type)
        for row in session.execute(
            select(RespondentBody.id, RespondentBody.body_type).order_by(RespondentBody.id)
        )
    ]


@cache
def _acknowledge_due(submitted: date, anonymous: bool) -> date:
    return clocks.due_date(clocks.ACKNOWLEDGE, submitted, anonymous=anonymous)


@cache
def _working_days_after(start: date, days: int) -> date:
    return add_working_days(start, days)


def _reference(number: int) -> str:
    """Distinct references for bulk rows, in the real format (random ones could collide)."""
    chars = []
    for _ in range(8):
        number, digit = divmod(number, len(REFERENCE_ALPHABET))
        chars.append(REFERENCE_ALPHABET[digit])
    word = "".join(reversed(chars))
    return f"CM-{word[:4]}-{word[4:]}"


@dataclass
class BulkPlan:
    """Who the bulk cases involve: the public bodies, the panel, and the benchmark's own
    mediator and public body (which get their share like any other)."""

    bodies: list[tuple[int, str]]
    mediator_ids: list[int]
    statement_body_id: int | None = None


@dataclass
class BulkCounts:
    cases: int = 0
    live: int = 0
    destroyed: int = 0


def bulk_cases(
    session: Session, count: int, plan: BulkPlan, today: date, seed: int = 5
) -> BulkCounts:
    """Write `count` cases filed over the last five years, each closed after a lognormal
    number of days (median about two months) unless still open today; cases closed longer
    than the retention period have their sealed columns destroyed. Caller commits."""
    rng = random.Random(seed)
    counts = BulkCounts()
    weights = [
        3.0 if kind in {"local_authority", "grant_distributor"} else 1.0 for _, kind in plan.bodies
    ]
    start_number = 30**7 + (session.execute(select(func.max(Case.id))).scalar() or 0)
    for chunk_start in range(0, count, CHUNK):
        size = min(CHUNK, count - chunk_start)
        drafts = [
            _draft_case(rng, today, plan, weights, start_number + chunk_start + i)
            for i in range(size)
        ]
        ids = (
            session.execute(
                insert(Case.__table__).returning(Case.__table__.c.id, sort_by_parameter_order=True),
                [d.row for d in drafts],
            )
            .scalars()
            .all()
        )
        related: dict[Any, list[dict[str, Any]]] = {
            CaseClock: [],
            CaseBreach: [],
            TriageRecord: [],
            FundingCheck: [],
            MediationSession: [],
            DisclosureStatement: [],
        }
        for case_id, draft in zip(ids, drafts, strict=True):
            for model, row in draft.related:
                related[model].append({**row, "case_id": case_id})
            counts.cases += 1
            counts.live += draft.live
            counts.destroyed += draft.row["keys_destroyed_on"] is not None
        for model, rows in related.items():
            if rows:
                session.execute(insert(model.__table__), rows)
    return counts


@dataclass
class _Draft:
    row: dict[str, Any]
    related: list[tuple[Any, dict[str, Any]]]
    live: bool


def _draft_case(
    rng: random.Random, today: date, plan: BulkPlan, weights: list[float], number: int
) -> _Draft:
    submitted = today - timedelta(days=rng.randrange(YEARS * 365))
    duration = max(3, int(rng.lognormvariate(4.1, 0.7)))
    anonymous = rng.random() < 0.2
    body_id, _ = rng.choices(plan.bodies, weights=weights)[0]
    closed_on: date | None = submitted + timedelta(days=duration)
    assert closed_on is not None
    related: list[tuple[Any, dict[str, Any]]] = []
    if closed_on < today:
        state = "closed"
        stage = len(LADDER)
    else:
        closed_on = None
        elapsed = (today - submitted).days / duration
        side = rng.random()
        state = ""
        for name, share in SIDE_STATES.items():
            side -= share
            if side < 0 and elapsed > 0.1:
                state = name
                break
        stage = next(i for i, share in enumerate(LADDER_SHARES) if elapsed <= share)
        state = state or LADDER[stage]
        if state in SIDE_STATES:
            stage = max(stage, 2)
    destroyed = closed_on is not None and (today - closed_on).days > RETENTION_DAYS
    live = closed_on is None
    mediator_id = None
    if stage >= 4 and plan.mediator_ids and state not in {"informal_resolution", "referred"}:
        mediator_id = rng.choice(plan.mediator_ids)
    row: dict[str, Any] = {
        "reference": _reference(number),
        "openness": "anonymous"
        if anonymous
        else rng.choice(["confidential", "confidential", "open"]),
        "state": state,
        "state_before_hold": "triage" if state == "on_hold" else None,
        "urgent": live and rng.random() < 0.02,
        "respondent_body_id": body_id,
        "mediator_id": mediator_id,
        "submitted_on": submitted,
        "closed_on": closed_on,
        "keys_destroyed_on": closed_on + timedelta(days=RETENTION_DAYS + 1)
        if destroyed and closed_on
        else None,
        "record_key": rng.randrange(2**31),
        "suite": "x25519",
        "complainant_salt": secrets.token_bytes(16),
        "complainant_suite": "x25519",
        "complainant_public_key": secrets.token_bytes(32),
        "complainant_key_id": secrets.token_hex(16),
        "complainant_kdf": PASSPHRASE_KDF.to_dict(),
    }
    row.update(dict.fromkeys(SEALED_COLUMNS))
    if not destroyed:
        row.update(
            case_public_key=secrets.token_bytes(32),
            case_key_id=secrets.token_hex(16),
            identity_public_key=secrets.token_bytes(32),
            identity_key_id=secrets.token_hex(16),
            narrative=secrets.token_bytes(NARRATIVE_BYTES),
            identity=None if anonymous else secrets.token_bytes(IDENTITY_BYTES),
            identity_copy=None if anonymous else secrets.token_bytes(IDENTITY_BYTES),
        )
    categories = sorted(
        {
            rng.choices(list(CATEGORIES), weights=list(CATEGORIES.values()))[0]
            for _ in range(rng.choice((1, 1, 1, 2)))
        }
    )
    for position, category in enumerate(categories):
        related.append(
            (CaseBreach, {"position": position, "category": category, "paragraph_key": None})
        )
    related += list(_clocks(rng, today, submitted, anonymous, stage, state, closed_on))
    if stage >= 3 or (stage == 2 and rng.random() < 0.5):
        related.append(
            (
                TriageRecord,
                {
                    "categories": categories,
                    "body_confirmed": True,
                    "language": None,
                    "triaged_on": min(today, submitted + timedelta(days=10)),
                },
            )
        )
    if closed_on is not None:
        for months, due in clocks.funding_check_dates(closed_on):
            done = due <= today and rng.random() < 0.97
            related.append(
                (
                    FundingCheck,
                    {
                        "months": months,
                        "due_on": due,
                        "status": "done" if done else "scheduled",
                        "finding": "continued" if done else None,
                        "adverse": False if done else None,
                        "checked_on": due if done else None,
                    },
                )
            )
    if state == "in_mediation":
        held = today + timedelta(days=rng.randrange(1, 30))
        papers = clocks.papers_due(held)
        related.append(
            (
                MediationSession,
                {
                    "held_on": held,
                    "part_of_day": "morning",
                    "online": rng.random() < 0.5,
                    "place": None,
                    "papers_due_on": papers,
                    "complainant_papers_on": papers if rng.random() < 0.7 else None,
                    "respondent_papers_on": papers if rng.random() < 0.7 else None,
                    "cancelled": False,
                },
            )
        )
    if plan.statement_body_id == body_id and stage >= 3 and not destroyed:
        decided = min(today, submitted + timedelta(days=20))
        related.append(
            (
                DisclosureStatement,
                {
                    "version": 1,
                    "status": "approved",
                    "drafted_on": decided,
                    "sent_on": decided,
                    "decided_on": decided,
                    "draft": secrets.token_bytes(600),
                    "approved_text": "Benchmark statement: a grant was changed without notice.",
                },
            )
        )
    row.update(_queue_dates(row, related))
    return _Draft(row, related, live)


def _queue_dates(row: dict[str, Any], related: list[tuple[Any, dict[str, Any]]]) -> dict[str, Any]:
    """The case row's copies of its nearest running deadline (and whose) and next funding check,
    worked out from the clocks and checks written with it by the app's own rule (which an
    ORM flush applies; these Core inserts bypass it)."""
    kept = [
        clocks.Clock(
            kind=fields["kind"],
            started_on=fields["started_on"],
            due_on=fields["due_on"],
            paused_on=fields["paused_on"],
            met_on=fields["met_on"],
            stopped_on=fields["stopped_on"],
        )
        for model, fields in related
        if model is CaseClock
    ]
    filed = Case(state=row["state"], openness=row["openness"], submitted_on=row["submitted_on"])
    checks = [f["due_on"] for m, f in related if m is FundingCheck and f["status"] == "scheduled"]
    nearest = case_clocks.nearest(filed, kept)
    return {
        "next_deadline_on": nearest.due_on if nearest else None,
        "next_deadline_kind": nearest.kind if nearest else None,
        "funding_check_due_on": min(checks, default=None),
    }


def _clocks(
    rng: random.Random,
    today: date,
    submitted: date,
    anonymous: bool,
    stage: int,
    state: str,
    closed_on: date | None,
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """The service-standard clocks a case at this stage has, met or stopped as it moved."""
    end = closed_on or today
    finished = state in {"closed", "withdrawn"}
    paused = today - timedelta(days=rng.randrange(1, 20)) if state == "on_hold" else None

    def clock(kind: str, started: date, due: date, met: bool, met_on: date) -> dict[str, Any]:
        met_on = min(met_on, end)
        return {
            "kind": kind,
            "started_on": started,
            "due_on": due,
            "met_on": met_on if met else None,
            "stopped_on": end if finished and not met else None,
            "paused_on": paused if not met and not finished else None,
        }

    acknowledged = submitted + timedelta(days=rng.randrange(0, 7))
    yield (
        CaseClock,
        clock(
            clocks.ACKNOWLEDGE,
            submitted,
            _acknowledge_due(submitted, anonymous),
            stage >= 1,
            acknowledged,
        ),
    )
    feedback_met = acknowledged + timedelta(days=rng.randrange(10, 60))
    yield (
        CaseClock,
        clock(
            clocks.FEEDBACK,
            submitted,
            clocks.due_date(clocks.FEEDBACK, submitted),
            stage >= 3,
            feedback_met,
        ),
    )
    if stage >= 1:
        triaged = acknowledged + timedelta(days=rng.randrange(3, 25))
        yield (
            CaseClock,
            clock(
                clocks.TRIAGE,
                acknowledged,
                _working_days_after(acknowledged, 10),
                stage >= 3,
                triaged,
            ),
        )
        if stage >= 3:
            answered = triaged + timedelta(days=rng.randrange(5, 40))
            yield (
                CaseClock,
                clock(
                    clocks.RESPONDENT_REPLY,
                    triaged,
                    _working_days_after(triaged, 20),
                    stage >= 4,
                    answered,
                ),
            )
