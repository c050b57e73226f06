"""Storing each case's service-standard clocks and moving them as the workflow says."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.domain import clocks
from mediation.models.cases import Case
from mediation.models.casework import CaseClock
from mediation.models.time import utcnow


def today() -> date:
    return utcnow().date()


def to_domain(row: CaseClock) -> clocks.Clock:
    return clocks.Clock(
        kind=row.kind,
        started_on=row.started_on,
        due_on=row.due_on,
        paused_on=row.paused_on,
        met_on=row.met_on,
        stopped_on=row.stopped_on,
    )


def _store(row: CaseClock, clock: clocks.Clock) -> None:
    row.due_on = clock.due_on
    row.paused_on = clock.paused_on
    row.met_on = clock.met_on
    row.stopped_on = clock.stopped_on


def clock_rows(session: Session, case: Case) -> list[CaseClock]:
    return list(
        session.execute(
            select(CaseClock).where(CaseClock.case_id == case.id).order_by(CaseClock.id)
        ).scalars()
    )


def _unfinished(rows: Iterable[CaseClock], kind: str | None = None) -> list[CaseClock]:
    return [
        r
        for r in rows
        if r.met_on is None and r.stopped_on is None and (kind is None or r.kind == kind)
    ]


def start_clock(session: Session, case: Case, kind: str, on: date | None = None) -> None:
    """Start a clock unless one of that kind is already running (or paused)."""
    on = on or today()
    rows = clock_rows(session, case)
    if _unfinished(rows, kind):
        return
    clock = clocks.start(kind, on, anonymous=case.openness == "anonymous")
    if case.state == "on_hold":
        clock = clocks.pause(clock, on)
    session.add(
        CaseClock(
            case_id=case.id,
            kind=kind,
            started_on=clock.started_on,
            due_on=clock.due_on,
            paused_on=clock.paused_on,
        )
    )
    session.flush()


def ensure_started(session: Session, case: Case) -> None:
    """A case filed straight into "submitted" starts its first clocks from its filing day."""
    if case.state == "draft" or clock_rows(session, case):
        return
    start_clock(session, case, clocks.ACKNOWLEDGE, case.submitted_on)
    start_clock(session, case, clocks.FEEDBACK, case.submitted_on)


def operate(
    session: Session, case: Case, operation: str, kind: str | None, on: date | None = None
) -> None:
    """Meet, pause, resume or stop the case's unfinished clocks (of one kind, or all)."""
    on = on or today()
    for row in _unfinished(clock_rows(session, case), kind):
        _store(row, clocks.apply(to_domain(row), operation, on))


def move(session: Session, case: Case, action: str, from_state: str, to_state: str) -> None:
    """Apply the domain's movements for one workflow step."""
    ensure_started(session, case)
    for movement in clocks.movements(action, from_state, to_state):
        if movement.operation == "start":
            assert movement.kind is not None
            start_clock(session, case, movement.kind)
        else:
            operate(session, case, movement.operation, movement.kind)


def statuses(
    case: Case, rows: Sequence[CaseClock], on: date | None = None
) -> list[clocks.ClockStatus]:
    """How each clock stands; a case filed without clocks shows the ones it should have."""
    on = on or today()
    domain_clocks = [to_domain(r) for r in rows]
    if not domain_clocks and case.state != "draft":
        anonymous = case.openness == "anonymous"
        domain_clocks = [
            clocks.start(clocks.ACKNOWLEDGE, case.submitted_on, anonymous=anonymous),
            clocks.start(clocks.FEEDBACK, case.submitted_on),
        ]
    return [clocks.status(c, on) for c in domain_clocks]


def next_deadline(
    case: Case, rows: Sequence[CaseClock], on: date | None = None
) -> clocks.ClockStatus | None:
    live = [s for s in statuses(case, rows, on) if s.status in {"running", "due_soon", "overdue"}]
    return min(live, key=lambda s: s.clock.due_on) if live else None
