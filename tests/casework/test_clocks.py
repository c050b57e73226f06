"""Service-standard clocks: working days with England and Wales bank holidays, pausing on
hold, and how the workflow moves them (pure domain, plus one end-to-end case)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from mediation.domain import clocks
from mediation.domain.calendar import add_working_days, is_working_day, working_days_between
from mediation.extensions import db
from mediation.models.casework import CaseClock, FundingCheck
from mediation.services import case_clocks, case_queue
from tests.casework.conftest import Driver


def test_working_days_skip_weekends_and_bank_holidays() -> None:
    # Thursday 24 December 2026: Christmas (Fri), Boxing Day observed (Mon 28) are skipped.
    assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
    # Easter 2027: Good Friday 26 March, Easter Monday 29 March.
    assert add_working_days(date(2027, 3, 25), 1) == date(2027, 3, 30)
    assert working_days_between(date(2027, 3, 25), date(2027, 3, 30)) == 1
    assert not is_working_day(date(2027, 5, 3))  # early May bank holiday


def test_the_standards_come_from_the_taxonomy_data() -> None:
    submitted = date(2026, 12, 18)  # a Friday before Christmas
    acknowledge = clocks.start(clocks.ACKNOWLEDGE, submitted)
    assert acknowledge.due_on == date(2026, 12, 29)  # 5 working days, 25 and 28 skipped
    anonymous = clocks.start(clocks.ACKNOWLEDGE, submitted, anonymous=True)
    assert anonymous.due_on == date(2026, 12, 25)  # 7 calendar days is sooner
    assert clocks.start(clocks.TRIAGE, date(2027, 1, 4)).due_on == date(2027, 1, 18)
    assert clocks.start(clocks.FEEDBACK, date(2027, 1, 31)).due_on == date(2027, 4, 30)
    assert clocks.papers_due(date(2027, 2, 15)) == date(2027, 2, 1)
    assert [m for m, _ in clocks.funding_check_dates(date(2027, 1, 10))] == [3, 12]


@given(
    start=st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)),
    n=st.integers(min_value=-40, max_value=40),
)
def test_working_days_between_inverts_add_working_days(start: date, n: int) -> None:
    end = add_working_days(start, n)
    assert working_days_between(start, end) == n
    if n:
        assert is_working_day(end)


def test_time_on_hold_does_not_count() -> None:
    clock = clocks.start(clocks.TRIAGE, date(2027, 1, 4))  # due 18 January
    paused = clocks.pause(clock, date(2027, 1, 6))
    assert clocks.status(paused, date(2027, 3, 1)).status == "paused"
    resumed = clocks.resume(paused, date(2027, 1, 13))  # 5 working days on hold
    assert resumed.due_on == date(2027, 1, 25)
    assert clocks.status(resumed, date(2027, 1, 26)).overdue
    assert clocks.status(resumed, date(2027, 1, 22)).status == "due_soon"
    assert not clocks.status(clocks.meet(resumed, date(2027, 1, 26)), date(2027, 2, 1)).overdue


def test_workflow_steps_move_the_clocks() -> None:
    moves = clocks.movements("acknowledge", "submitted", "acknowledged")
    assert [(m.operation, m.kind) for m in moves] == [
        ("meet", clocks.ACKNOWLEDGE),
        ("start", clocks.TRIAGE),
    ]
    assert clocks.movements("put_on_hold", "triage", "on_hold") == [clocks.Movement("pause", None)]
    assert ("resume", None) in [
        (m.operation, m.kind) for m in clocks.movements("resume", "on_hold", "triage")
    ]
    assert ("meet", clocks.RESPONDENT_REPLY) in [
        (m.operation, m.kind)
        for m in clocks.movements("respondent_reply", "mediation_offered", "mediation_offered")
    ]
    assert ("stop", None) in [
        (m.operation, m.kind) for m in clocks.movements("withdraw", "triage", "withdrawn")
    ]


def _clock(case_id: int, kind: str) -> CaseClock:
    row = (
        db.session.execute(
            select(CaseClock)
            .where(CaseClock.case_id == case_id, CaseClock.kind == kind)
            .order_by(CaseClock.id.desc())
        )
        .scalars()
        .first()
    )
    assert row is not None
    return row


def test_a_case_on_hold_pauses_its_clocks_and_leaves_the_overdue_list(driver: Driver) -> None:
    filed = driver.to("triage")
    case = filed.case
    triage_clock = _clock(case.id, clocks.TRIAGE)
    # Pretend triage started long ago: the case is overdue on the queue.
    triage_clock.started_on = date.today() - timedelta(days=60)
    triage_clock.due_on = date.today() - timedelta(days=30)
    db.session.commit()
    overdue = case_queue.build_queue(db.session, case_queue.QueueFilters(view="overdue"))
    assert [r.case.reference for r in overdue.rows] == [case.reference]

    driver.officer_act(case, "put_on_hold", reason="Waiting for a court ruling")
    assert _clock(case.id, clocks.TRIAGE).paused_on == date.today()
    overdue = case_queue.build_queue(db.session, case_queue.QueueFilters(view="overdue"))
    assert overdue.rows == []

    driver.officer_act(case, "resume")
    assert case.state == "triage"
    assert _clock(case.id, clocks.TRIAGE).paused_on is None


def test_acknowledging_meets_its_clock_and_starts_triage(driver: Driver) -> None:
    filed = driver.file()
    case = filed.case
    driver.officer_act(case, "acknowledge")
    assert _clock(case.id, clocks.ACKNOWLEDGE).met_on == date.today()
    triage_clock = _clock(case.id, clocks.TRIAGE)
    assert triage_clock.due_on == add_working_days(date.today(), 10)
    statuses = case_clocks.statuses(case, case_clocks.clock_rows(db.session, case))
    assert {s.clock.kind for s in statuses if s.status != "met"} == {"triage", "feedback"}


def test_closing_schedules_funding_checks_and_reopening_cancels_them(driver: Driver) -> None:
    filed = driver.to("closed")
    checks = (
        db.session.execute(select(FundingCheck).where(FundingCheck.case_id == filed.case.id))
        .scalars()
        .all()
    )
    assert sorted(c.months for c in checks) == [3, 12]
    assert all(c.status == "scheduled" for c in checks)
    driver.complainant_act(filed.case, "contest_closure", reason="It was not kept")
    driver.officer_act(filed.case, "reopen", reason="The agreement was broken")
    assert {c.status for c in checks} == {"cancelled"}
