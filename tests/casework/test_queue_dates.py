"""Each case row's copies of its nearest running deadline (and whose it is) and its next
funding check match its clocks and checks after every workflow step, every direct write,
the demo's ageing, the migration's fill and the benchmark's bulk seeding; and the queue's
statements, which read only those copies, give the order and counts of the queue's rule
written out plainly."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import Connection, select, text

from bench.casework_seed import BulkPlan, bodies, bulk_cases
from mediation import create_app
from mediation.domain import clocks
from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.casework import CaseClock, FundingCheck, MediationSession, TriageRecord
from mediation.models.intake import CaseBreach
from mediation.models.panel import MediatorProfile
from mediation.services import case_clocks, case_queue, demo, demo_cases
from tests.casework.conftest import Driver
from tests.casework.test_workflow_paths import PAIRS, doer, start_state
from tests.conftest import ON_POSTGRES, base_config, create_run_database, drop_run_database

QueueDates = tuple[date | None, str | None, date | None]


def recomputed() -> dict[int, QueueDates]:
    """Every case's dates worked out from its clocks and checks as they stand."""
    kept: dict[int, list[clocks.Clock]] = defaultdict(list)
    for row in db.session.execute(select(CaseClock).order_by(CaseClock.id)).scalars():
        kept[row.case_id].append(case_clocks.to_domain(row))
    checks: dict[int, list[date]] = defaultdict(list)
    for check in db.session.execute(
        select(FundingCheck).where(FundingCheck.status == "scheduled")
    ).scalars():
        checks[check.case_id].append(check.due_on)
    found = {}
    for case in db.session.execute(select(Case)).scalars():
        nearest = case_clocks.nearest(case, kept[case.id])
        found[case.id] = (
            nearest.due_on if nearest else None,
            nearest.kind if nearest else None,
            min(checks[case.id], default=None),
        )
    return found


def stored() -> dict[int, QueueDates]:
    db.session.expire_all()
    return {
        case.id: (case.next_deadline_on, case.next_deadline_kind, case.funding_check_due_on)
        for case in db.session.execute(select(Case)).scalars()
    }


def assert_dates_match(context: object = None) -> None:
    assert stored() == recomputed(), context


def test_every_workflow_step_keeps_the_dates_of_its_case(driver: Driver) -> None:
    # One small service takes every case: its mediators' capacity must not run out.
    for profile in db.session.execute(select(MediatorProfile)).scalars():
        profile.capacity = len(PAIRS)
    db.session.commit()
    for action, source in PAIRS:
        if source == "draft":
            filed = driver.file()
            filed.case.state = "draft"
            db.session.commit()
        else:
            filed = driver.to(start_state(action, source))
        assert_dates_match((action, source, "before"))
        doer(driver, filed, action)()
        assert_dates_match((action, source, "after"))


def test_direct_writes_to_clocks_checks_and_filing_move_the_dates(driver: Driver) -> None:
    today = date.today()
    filed = driver.file()  # no clock rows: the deadlines it should have
    assert filed.case.next_deadline_kind == clocks.ACKNOWLEDGE
    filed.case.submitted_on = today - timedelta(days=40)
    filed.case.openness = "anonymous"
    db.session.commit()
    assert_dates_match("filing moved")

    triaged = driver.to("triage").case
    triage_clock = db.session.execute(
        select(CaseClock).where(CaseClock.case_id == triaged.id, CaseClock.kind == "triage")
    ).scalar_one()
    triage_clock.due_on = today - timedelta(days=3)
    db.session.commit()
    assert triaged.next_deadline_on == today - timedelta(days=3)
    triage_clock.paused_on = today
    db.session.commit()
    assert_dates_match("paused by hand")
    db.session.delete(triage_clock)
    db.session.commit()
    assert_dates_match("clock deleted")
    db.session.add(
        CaseClock(
            case_id=triaged.id,
            kind=clocks.RESPONDENT_REPLY,
            started_on=today,
            due_on=today + timedelta(days=1),
        )
    )
    db.session.commit()
    assert (triaged.next_deadline_on, triaged.next_deadline_kind) == (
        today + timedelta(days=1),
        clocks.RESPONDENT_REPLY,
    )

    closed = driver.to("closed").case
    checks = list(
        db.session.execute(select(FundingCheck).where(FundingCheck.case_id == closed.id)).scalars()
    )
    assert closed.funding_check_due_on == min(c.due_on for c in checks)
    first = min(checks, key=lambda c: c.due_on)
    first.status = "done"
    db.session.commit()
    assert_dates_match("check done")
    db.session.add(FundingCheck(case_id=closed.id, months=1, due_on=today - timedelta(days=1)))
    db.session.commit()
    assert closed.funding_check_due_on == today - timedelta(days=1)
    assert_dates_match("check added")


def test_demo_cases_and_their_ageing_keep_the_dates(app: Flask) -> None:
    with app.app_context():
        demo.load_demo(db.session)
        db.session.commit()
        demo_cases.load(db.session)
        db.session.commit()
        dates = stored()
        assert any(due is not None for due, _, _ in dates.values())
        assert any(check is not None for _, _, check in dates.values())
        assert dates == recomputed()


def test_bulk_seeded_cases_carry_their_dates_and_the_queue_follows_its_rule(
    driver: Driver,
) -> None:
    """The benchmark's bulk cases (every state, on hold, urgent, closed with checks due,
    sessions with papers late) with a few real ones: the statements give what the rule,
    read plainly from every case's clocks, checks and sessions, gives."""
    driver.file()  # filed without clock rows
    driver.to("on_hold")
    driver.to("in_mediation")
    plan = BulkPlan(bodies(db.session), [driver.s.mediator.id])
    bulk_cases(db.session, 600, plan, date.today(), seed=11)
    db.session.commit()
    assert_dates_match("seeded")
    for today in (date.today(), date.today() + timedelta(days=45)):
        for filters in (
            case_queue.QueueFilters(),
            case_queue.QueueFilters(view="overdue"),
            case_queue.QueueFilters(view="new"),
            case_queue.QueueFilters(view="urgent"),
            case_queue.QueueFilters(view="funding_checks"),
            case_queue.QueueFilters(state="closed"),
            case_queue.QueueFilters(category="funding_change"),
            case_queue.QueueFilters(view="overdue", region="north_west"),
        ):
            expected, counts = plain_queue(filters, today)
            whole = case_queue.build_queue(db.session, filters, today)
            assert [r.case.id for r in whole.rows] == expected, (filters, today)
            assert whole.counts == counts and whole.matching == len(expected)
            paged = []
            for number in range(1, -(-len(expected) // 7) + 1):
                page = case_queue.build_queue(db.session, filters, today, page=number, page_size=7)
                assert page.page == number and page.counts == counts
                paged += [r.case.id for r in page.rows]
            assert paged == expected, (filters, today)
            for shown in whole.rows:
                next_deadline = shown.next_deadline
                assert (
                    next_deadline.clock.due_on if next_deadline else None
                ) == shown.next_deadline_on
                assert shown.overdue == (
                    any(s.overdue for s in shown.clock_statuses) or shown.papers_overdue > 0
                )


def plain_queue(filters: case_queue.QueueFilters, today: date) -> tuple[list[int], dict[str, int]]:
    """The queue's rule, read from every case's own clocks, checks and sessions."""
    kept: dict[int, list[clocks.Clock]] = defaultdict(list)
    for row in db.session.execute(select(CaseClock).order_by(CaseClock.id)).scalars():
        kept[row.case_id].append(case_clocks.to_domain(row))
    checks_due = set(
        db.session.execute(
            select(FundingCheck.case_id).where(
                FundingCheck.status == "scheduled", FundingCheck.due_on <= today
            )
        ).scalars()
    )
    papers_late = set(
        db.session.execute(
            select(MediationSession.case_id).where(
                MediationSession.cancelled.is_(False),
                MediationSession.papers_due_on < today,
                MediationSession.held_on >= today,
                (MediationSession.complainant_papers_on.is_(None))
                | (MediationSession.respondent_papers_on.is_(None)),
            )
        ).scalars()
    )
    triaged = dict(db.session.execute(select(TriageRecord.case_id, TriageRecord.categories)).all())
    claimed: dict[int, set[str]] = defaultdict(set)
    for case_id, category in db.session.execute(select(CaseBreach.case_id, CaseBreach.category)):
        claimed[case_id].add(category)
    queue = []
    for case in db.session.execute(select(Case)).scalars():
        live = case.state not in {"closed", "draft"}
        if case.keys_destroyed_on is not None or not (live or case.id in checks_due):
            continue
        running = [c for c in case_clocks.shown(case, kept[case.id]) if c.running]
        nearest = min((c.due_on for c in running), default=None)
        overdue = any(c.due_on < today for c in running) or case.id in papers_late
        queue.append((case, overdue, nearest))
    body_of = {
        body_id: (body_type, region)
        for body_id, body_type, region in db.session.execute(
            text("SELECT id, body_type, region FROM respondent_bodies")
        )
    }
    counts = {
        "all": len(queue),
        "new": sum(c.state == "submitted" for c, _, _ in queue),
        "overdue": sum(overdue for _, overdue, _ in queue),
        "urgent": sum(bool(c.urgent) for c, _, _ in queue),
        "funding_checks": sum(c.id in checks_due for c, _, _ in queue),
    }

    def wanted(case: Case, overdue: bool) -> bool:
        view = {
            "new": case.state == "submitted",
            "overdue": overdue,
            "urgent": bool(case.urgent),
            "funding_checks": case.id in checks_due,
        }.get(filters.view, True)
        body_type, region = body_of.get(case.respondent_body_id or -1, (None, None))
        categories = triaged.get(case.id) or claimed[case.id]
        return (
            view
            and (not filters.state or case.state == filters.state)
            and (not filters.body_type or body_type == filters.body_type)
            and (not filters.region or region == filters.region)
            and (not filters.category or filters.category in categories)
        )

    chosen = [(c, o, n) for c, o, n in queue if wanted(c, o)]
    chosen.sort(key=lambda q: (not q[0].urgent, not q[1], q[2] or date.max, q[0].id))
    return [c.id for c, _, _ in chosen], counts


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'queue_dates.sqlite3'}"
        return
    url = create_run_database("mediation_queue_dates_test")
    yield url
    drop_run_database(url)


def test_the_migration_fills_the_dates_of_existing_cases(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Cases made before revision 0008 (with clocks running, paused, met, none at all, and
    funding checks) get the dates their clocks and checks give."""
    app = create_app(base_config(empty_database_url, tmp_path))
    with app.app_context():
        upgrade(revision="0007_custodian_admission")
        rng = random.Random(4)
        today = date.today()
        cases = []
        for number in range(40):
            filed = today - timedelta(days=rng.randrange(200))
            cases.append(
                {
                    "id": number + 1,
                    "reference": f"CM-TEST-{number:04d}",
                    "openness": rng.choice(["anonymous", "confidential", "open"]),
                    "state": rng.choice(["submitted", "triage", "on_hold", "closed", "draft"]),
                    "urgent": False,
                    "submitted_on": filed,
                    "record_key": number,
                    "suite": "x25519",
                    "complainant_salt": b"salt",
                    "complainant_suite": "x25519",
                    "complainant_public_key": b"key",
                    "complainant_key_id": f"key{number}",
                    "complainant_kdf": {},
                }
            )
        clock_rows, check_rows = [], []
        for case in cases:
            for kind in rng.sample(list(clocks.LABELS), rng.randrange(4)):
                started = case["submitted_on"] + timedelta(days=rng.randrange(10))
                due = started + timedelta(days=rng.randrange(-5, 60))
                end = rng.choice([None, None, "met_on", "stopped_on", "paused_on"])
                row = {"case_id": case["id"], "kind": kind, "started_on": started, "due_on": due}
                row.update({"met_on": None, "stopped_on": None, "paused_on": None})
                if end:
                    row[end] = started
                clock_rows.append(row)
            for months in range(rng.randrange(3)):
                check_rows.append(
                    {
                        "case_id": case["id"],
                        "months": months,
                        "due_on": today + timedelta(days=rng.randrange(-90, 90)),
                        "status": rng.choice(["scheduled", "done"]),
                    }
                )
        with db.engine.begin() as connection:  # the tables as they stand at 0007
            _insert(connection, "cases", [{**c, "complainant_kdf": "{}"} for c in cases])
            _insert(connection, "case_clocks", clock_rows)
            _insert(connection, "funding_checks", check_rows)
        upgrade()
        assert_dates_match("migrated")
        dates = stored().values()
        assert any(due is None for due, _, _ in dates) and any(due for due, _, _ in dates)
        db.session.remove()
        db.engine.dispose()


def _insert(connection: Connection, table: str, rows: list[dict[str, object]]) -> None:
    names = list(rows[0])
    connection.execute(
        text(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
        ),
        rows,
    )
