"""Storing each case's service-standard clocks and moving them as the workflow says, and
keeping the queue's copies of its next deadline and next funding check on the case row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Protocol

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session, load_only

from mediation.domain import clocks
from mediation.models.cases import Case
from mediation.models.casework import CaseClock, FundingCheck
from mediation.models.time import utcnow


def today() -> date:
    return utcnow().date()


class ClockColumns(Protocol):
    """A clock's stored columns: a CaseClock, or a row of a statement that selects them."""

    kind: str
    started_on: date
    due_on: date
    paused_on: date | None
    met_on: date | None
    stopped_on: date | None


def to_domain(row: ClockColumns) -> clocks.Clock:
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


def start_at_filing(session: Session, case: Case) -> None:
    """Start the first clocks of a case filed in this transaction (so it has none yet), from
    its filing day, in one statement. That statement (an ORM bulk insert) passes by the
    flush that keeps the case's nearest deadline, so it is set here, from these clocks."""
    if case.state == "draft":
        return
    anonymous = case.openness == "anonymous"
    started = [
        clocks.start(kind, case.submitted_on, anonymous=anonymous)
        for kind in (clocks.ACKNOWLEDGE, clocks.FEEDBACK)
    ]
    if case.state == "on_hold":
        started = [clocks.pause(clock, case.submitted_on) for clock in started]
    session.execute(
        insert(CaseClock),
        [
            {
                "case_id": case.id,
                "kind": clock.kind,
                "started_on": clock.started_on,
                "due_on": clock.due_on,
                "paused_on": clock.paused_on,
            }
            for clock in started
        ],
    )
    _set_deadline(case, nearest(case, started))


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


class Filing(Protocol):
    """What a case's clocks run from: a case, or the queue's record of one."""

    @property
    def state(self) -> str: ...

    @property
    def openness(self) -> str: ...

    @property
    def submitted_on(self) -> date: ...


def shown(case: Filing, kept: Sequence[clocks.Clock]) -> list[clocks.Clock]:
    """The clocks a case shows: its own, or for a case filed without clock rows the ones
    it should have, running from its filing day."""
    if kept or case.state == "draft":
        return list(kept)
    anonymous = case.openness == "anonymous"
    return [
        clocks.start(clocks.ACKNOWLEDGE, case.submitted_on, anonymous=anonymous),
        clocks.start(clocks.FEEDBACK, case.submitted_on),
    ]


def statuses(
    case: Case, rows: Sequence[CaseClock], on: date | None = None
) -> list[clocks.ClockStatus]:
    """How each clock stands; a case filed without clocks shows the ones it should have."""
    on = on or today()
    return [clocks.status(c, on) for c in shown(case, [to_domain(r) for r in rows])]


def nearest(case: Filing, kept: Sequence[clocks.Clock]) -> clocks.Clock | None:
    """The running clock the case shows with the nearest deadline (the first made, when
    two fall due on the same day); none while the case is on hold."""
    running = [c for c in shown(case, kept) if c.running]
    return min(running, key=lambda c: c.due_on) if running else None


# The queue orders and counts thousands of cases by their nearest deadline and next
# funding check, so each case row carries them (`Case.next_deadline_on`, the kind of
# clock it is, and `Case.funding_check_due_on`). They are worked out again at every flush
# that adds, changes or deletes a clock or a funding check, or changes what the clocks of
# a case filed without clock rows run from, whoever made the change: the workflow, a
# service, the demo's ageing of dates or a test. Writes that bypass the session (Core
# inserts, as the benchmark's bulk seeding and the migration make) set them themselves.
_CLOCK_FIELDS = ("case_id", "due_on", "paused_on", "met_on", "stopped_on")
_CHECK_FIELDS = ("case_id", "due_on", "status")
_CASE_FIELDS = ("state", "openness", "submitted_on")
_CHECK_STATUS_DEFAULT = FundingCheck.__table__.c.status.default.arg


def _changed(row: Any, fields: Sequence[str]) -> bool:
    state = inspect(row)
    return any(state.attrs[name].history.has_changes() for name in fields)


def _case_ids(row: CaseClock | FundingCheck) -> set[int]:
    """The case a row is on, and the one it was on if that changed in this flush."""
    former: Sequence[int | None] = inspect(row).attrs["case_id"].history.deleted or ()
    return {i for i in (row.case_id, *former) if i is not None}


@event.listens_for(Session, "before_flush")
def _keep_queue_dates(session: Session, flush_context: Any, instances: Any) -> None:
    deadline_cases: set[int] = set()
    check_cases: set[int] = set()
    touched: dict[int, Case] = {}
    for row in (*session.new, *session.dirty, *session.deleted):
        stored = row not in session.new and row not in session.deleted
        if isinstance(row, CaseClock) and not (stored and not _changed(row, _CLOCK_FIELDS)):
            deadline_cases |= _case_ids(row)
        elif isinstance(row, FundingCheck) and not (stored and not _changed(row, _CHECK_FIELDS)):
            check_cases |= _case_ids(row)
        elif isinstance(row, Case) and row not in session.deleted:
            if row.id is None:  # not numbered yet, so no clock or check can be on it
                if row.submitted_on is not None:
                    _set_deadline(row, nearest(row, []))
            elif not stored or _changed(row, _CASE_FIELDS):
                touched[row.id] = row
                deadline_cases.add(row.id)
    if deadline_cases or check_cases:
        with session.no_autoflush:
            _refresh(session, touched, deadline_cases, check_cases)


def _refresh(
    session: Session, touched: dict[int, Case], deadline_cases: set[int], check_cases: set[int]
) -> None:
    """Work the dates out again for these cases, from their rows as this flush will
    leave them (its new, changed and deleted rows included)."""
    cases = dict(touched)
    missing = (deadline_cases | check_cases) - cases.keys()
    if missing:
        loaded = session.execute(
            select(Case)
            .options(
                load_only(
                    Case.state,
                    Case.openness,
                    Case.submitted_on,
                    Case.next_deadline_on,
                    Case.next_deadline_kind,
                    Case.funding_check_due_on,
                )
            )
            .where(Case.id.in_(missing))
        ).scalars()
        cases.update((c.id, c) for c in loaded if c not in session.deleted)
    if deadline_cases:
        kept: dict[int, list[clocks.Clock]] = defaultdict(list)
        for clock in _pending(session, CaseClock, deadline_cases):
            kept[clock.case_id].append(to_domain(clock))
        for case_id in deadline_cases & cases.keys():
            _set_deadline(cases[case_id], nearest(cases[case_id], kept[case_id]))
    if check_cases:
        next_check: dict[int, date] = {}
        for check in _pending(session, FundingCheck, check_cases):
            # A check not yet inserted has no status until its column default is applied.
            if (check.status or _CHECK_STATUS_DEFAULT) == "scheduled":
                earliest = next_check.get(check.case_id, check.due_on)
                next_check[check.case_id] = min(earliest, check.due_on)
        for case_id in check_cases & cases.keys():
            _set(cases[case_id], "funding_check_due_on", next_check.get(case_id))


def _pending(session: Session, model: Any, case_ids: set[int]) -> list[Any]:
    """The cases' rows of a model as the flush will leave them: those stored (with any
    unflushed changes, from the identity map), the new ones, less the deleted ones."""
    stored = session.execute(select(model).where(model.case_id.in_(case_ids))).scalars()
    added = [r for r in session.new if isinstance(r, model)]
    return [r for r in (*stored, *added) if r.case_id in case_ids and r not in session.deleted]


def _set_deadline(case: Case, clock: clocks.Clock | None) -> None:
    _set(case, "next_deadline_on", clock.due_on if clock else None)
    _set(case, "next_deadline_kind", clock.kind if clock else None)


def _set(case: Case, name: str, value: date | str | None) -> None:
    if getattr(case, name) != value:  # an unchanged case is not written
        setattr(case, name, value)
