"""Service-standard clocks: when each starts, is met, pauses on hold and falls due."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from mediation.domain.calendar import add_working_days, working_days_between
from mediation.domain.taxonomy import ServiceStandards, load_taxonomy

ACKNOWLEDGE = "acknowledge"
TRIAGE = "triage"
RESPONDENT_REPLY = "respondent_reply"
FEEDBACK = "feedback"

LABELS = {
    ACKNOWLEDGE: "Acknowledge the complaint",
    TRIAGE: "Decide whether to accept the complaint",
    RESPONDENT_REPLY: "Public body to reply",
    FEEDBACK: "Give the complainant feedback",
}
# A clock shows as "due soon" this many working days before its deadline.
DUE_SOON_WORKING_DAYS = 2

# Decision states: reaching one is feedback to the complainant on what happened.
_DECISIONS = frozenset(
    {
        "not_accepted",
        "informal_resolution",
        "mediation_offered",
        "agreement",
        "no_agreement",
        "implementation_check",
        "referred",
        "respondent_declined",
        "closed",
    }
)
_TRIAGE_DONE = frozenset({"not_accepted", "informal_resolution", "mediation_offered", "referred"})
_FINISHED = frozenset({"closed", "withdrawn"})
_NOT_TAKEN_ON = frozenset({"not_accepted", "referred"})
_RESPONDENT_ANSWERS = frozenset(
    {"respondent_reply", "respondent_accept", "respondent_decline", "propose_resolution"}
)


def standards() -> ServiceStandards:
    return load_taxonomy().service_standards


@dataclass(frozen=True)
class Clock:
    """One service-standard deadline on one case."""

    kind: str
    started_on: date
    due_on: date
    paused_on: date | None = None
    met_on: date | None = None
    stopped_on: date | None = None

    @property
    def running(self) -> bool:
        return self.met_on is None and self.stopped_on is None and self.paused_on is None

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, self.kind)


def due_date(kind: str, start: date, *, anonymous: bool = False) -> date:
    """The deadline of a clock started on `start`."""
    rules = standards()
    if kind == ACKNOWLEDGE:
        due = add_working_days(start, rules.acknowledge_working_days)
        if anonymous:
            # An anonymous reporter can only check back, so the calendar limit also applies.
            due = min(due, start + timedelta(days=rules.anonymous_acknowledge_calendar_days))
        return due
    if kind == TRIAGE:
        return add_working_days(start, rules.triage_working_days)
    if kind == RESPONDENT_REPLY:
        return add_working_days(start, rules.respondent_reply_working_days)
    if kind == FEEDBACK:
        feedback: date = start + relativedelta(months=rules.feedback_to_complainant_months)
        return feedback
    raise ValueError(f"unknown clock {kind!r}")


def start(kind: str, on: date, *, anonymous: bool = False) -> Clock:
    return Clock(kind=kind, started_on=on, due_on=due_date(kind, on, anonymous=anonymous))


def pause(clock: Clock, on: date) -> Clock:
    return replace(clock, paused_on=on) if clock.running else clock


def resume(clock: Clock, on: date) -> Clock:
    """Push the deadline back by the time spent on hold (working days, or calendar days
    for the feedback clock, which is set in months)."""
    if clock.paused_on is None or clock.met_on or clock.stopped_on:
        return clock
    if clock.kind == FEEDBACK:
        due = clock.due_on + (on - clock.paused_on)
    else:
        held = max(0, working_days_between(clock.paused_on, on))
        due = add_working_days(clock.due_on, held)
    return replace(clock, paused_on=None, due_on=due)


def meet(clock: Clock, on: date) -> Clock:
    if clock.met_on or clock.stopped_on:
        return clock
    return replace(clock, met_on=on, paused_on=None)


def stop(clock: Clock, on: date) -> Clock:
    if clock.met_on or clock.stopped_on:
        return clock
    return replace(clock, stopped_on=on, paused_on=None)


@dataclass(frozen=True)
class Movement:
    """What a transition does to one clock: start, meet, pause, resume or stop it."""

    operation: str
    kind: str | None  # None: every clock of the case


def movements(action: str, from_state: str, to_state: str) -> list[Movement]:
    """How a workflow step moves the clocks; applied in order by the service layer."""
    moves: list[Movement] = []
    if to_state == "on_hold" and from_state != "on_hold":
        return [Movement("pause", None)]
    if action == "resume":
        moves.append(Movement("resume", None))
    if action == "submit":
        moves += [Movement("start", ACKNOWLEDGE), Movement("start", FEEDBACK)]
    if to_state == "acknowledged":
        moves += [Movement("meet", ACKNOWLEDGE), Movement("start", TRIAGE)]
    if from_state == "triage" and to_state in _TRIAGE_DONE:
        moves.append(Movement("meet", TRIAGE))
    if action == "reopen":
        moves.append(Movement("start", TRIAGE))
    if to_state in _DECISIONS and to_state != from_state:
        moves.append(Movement("meet", FEEDBACK))
    if action in _RESPONDENT_ANSWERS:
        moves.append(Movement("meet", RESPONDENT_REPLY))
    if to_state in _NOT_TAKEN_ON and from_state != to_state:
        # Not accepted, or sent elsewhere: the public body has nothing to answer here.
        moves.append(Movement("stop", RESPONDENT_REPLY))
    if to_state in _FINISHED and from_state != to_state:
        moves.append(Movement("stop", None))
    return moves


def apply(clock: Clock, operation: str, on: date) -> Clock:
    if operation == "pause":
        return pause(clock, on)
    if operation == "resume":
        return resume(clock, on)
    if operation == "meet":
        return meet(clock, on)
    if operation == "stop":
        return stop(clock, on)
    raise ValueError(f"unknown clock operation {operation!r}")


@dataclass(frozen=True)
class ClockStatus:
    """How a clock stands today, for the queue and the case page."""

    clock: Clock
    status: str  # "met", "stopped", "paused", "overdue", "due_soon", "running"
    working_days_left: int | None

    @property
    def overdue(self) -> bool:
        return self.status == "overdue"


def status(clock: Clock, today: date) -> ClockStatus:
    if clock.met_on:
        return ClockStatus(clock, "met", None)
    if clock.stopped_on:
        return ClockStatus(clock, "stopped", None)
    if clock.paused_on:
        return ClockStatus(clock, "paused", None)
    left = working_days_between(today, clock.due_on)
    if today > clock.due_on:
        return ClockStatus(clock, "overdue", left)
    if left <= DUE_SOON_WORKING_DAYS:
        return ClockStatus(clock, "due_soon", left)
    return ClockStatus(clock, "running", left)


def papers_due(session_on: date) -> date:
    """Papers are due this many working days before a mediation session."""
    return add_working_days(session_on, -standards().papers_before_session_working_days)


def funding_check_dates(closed_on: date) -> list[tuple[int, date]]:
    """(months, due date) of each funding-continuity check after closure."""
    dates: list[tuple[int, date]] = [
        (months, closed_on + relativedelta(months=months))
        for months in standards().funding_continuity_check_months
    ]
    return dates
