"""The rows of one page of the case officers' queue: what it shows of each case, its
public body, breach categories, nearest deadline, late papers and due funding checks.

The statement that finds the page's cases (`queue_statement`) brings nearly all of it, as
plain columns: the queue shows only a case's unsealed metadata, and a page of plain
records costs a fraction of a page of mapped objects. Only the funding checks due, for
the cases that have one, and (when asked for, as by the CLI) every clock of the page's
cases are read again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache, cached_property, lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import BindParameter, Date, Row, bindparam, select
from sqlalchemy.orm import Session

from mediation.domain import clocks, workflow
from mediation.domain.taxonomy import load_taxonomy
from mediation.models.casework import CaseClock, FundingCheck
from mediation.services import case_clocks

SHOWN_DAY = "%-d %b %Y"
ROWS_PER_STATEMENT = 500  # an unpaged queue (the CLI) reads its cases' details in batches
PageRow = Row[*tuple[Any, ...]]  # a row of queue_statement's page statement


@dataclass(slots=True)
class QueuedCase:
    """What the queue shows of a case: its row's plain columns, never a sealed one."""

    id: int
    reference: str
    openness: str
    state: str
    urgent: bool
    submitted_on: date


@dataclass(slots=True)
class QueuedBody:
    """The public body a case is against, as the queue shows it."""

    id: int
    name: str


class PageClocks:
    """The clocks of the cases on a page, read in one statement (per batch of cases) the
    first time any row's are asked for: the queue page itself shows only each case's
    nearest deadline, which its row carries."""

    def __init__(self, session: Session, cases: Sequence[QueuedCase]) -> None:
        self._session = session
        self._cases = cases

    @cached_property
    def _kept(self) -> dict[int, list[clocks.Clock]]:
        kept: dict[int, list[clocks.Clock]] = defaultdict(list)
        for start in range(0, len(self._cases), ROWS_PER_STATEMENT):
            ids = [c.id for c in self._cases[start : start + ROWS_PER_STATEMENT]]
            for row in self._session.execute(_CLOCKS, {"ids": ids}):
                kept[row.case_id].append(case_clocks.to_domain(row))
        return kept

    def of(self, case: QueuedCase) -> list[clocks.Clock]:
        """The case's clocks as it shows them (`case_clocks.shown`)."""
        return case_clocks.shown(case, self._kept.get(case.id, []))


@dataclass
class QueueRow:
    case: QueuedCase
    body: QueuedBody | None
    categories: list[str]
    today: date
    # The nearest deadline of a running clock (`Case.next_deadline_on`) and which clock's.
    next_deadline_on: date | None
    next_deadline_kind: str | None
    page_clocks: PageClocks = field(repr=False, compare=False)
    papers_overdue: int = 0  # coming sessions whose papers are late
    funding_checks_due: list[FundingCheck] = field(default_factory=list)

    @property
    def next_deadline_label(self) -> str:
        kind = self.next_deadline_kind or ""
        return clocks.LABELS.get(kind, kind)

    # What the queue shows, written here rather than by the template, where fifty rows'
    # calls and loops cost more than the writing.
    @property
    def categories_shown(self) -> str:
        """The breach categories' names, one after another."""
        return _names_shown(tuple(self.categories))

    @property
    def received(self) -> str:
        """The filing day, as "5 Mar 2027"."""
        return shown_day(self.case.submitted_on)

    @property
    def next_deadline_day(self) -> str:
        return shown_day(self.next_deadline_on) if self.next_deadline_on else ""

    # A clock's status counts working days, a walk through the calendar: the queue page
    # shows none, so they (and the clocks) are worked out only when asked for.
    @cached_property
    def clock_statuses(self) -> list[clocks.ClockStatus]:
        return [clocks.status(c, self.today) for c in self.page_clocks.of(self.case)]

    @cached_property
    def next_deadline(self) -> clocks.ClockStatus | None:
        live = [s for s in self.clock_statuses if s.clock.running]
        return min(live, key=lambda s: s.clock.due_on) if live else None

    @property
    def overdue(self) -> bool:
        late = self.next_deadline_on is not None and self.next_deadline_on < self.today
        return late or self.papers_overdue > 0

    @property
    def new(self) -> bool:
        return self.case.state == "submitted"

    @property
    def state_label(self) -> str:
        return workflow.state_label(self.case.state)


# The columns of `case_queue`'s page statement that make a row, by name.
PAGE_COLUMNS = (
    "id",
    "reference",
    "openness",
    "state",
    "urgent",
    "submitted_on",
    "body_id",
    "body_name",
    "triaged",
    "claimed",
    "next_deadline_on",
    "next_deadline_kind",
    "papers_late",
    "funding_due",
)


@cache
def _category_names() -> dict[str, str]:
    return {c.id: c.label for c in load_taxonomy().categories}


# A page's fifty rows share a few dozen days and sets of categories: each written once.
@lru_cache(maxsize=4096)
def shown_day(day: date) -> str:
    return day.strftime(SHOWN_DAY)


@lru_cache(maxsize=1024)
def _names_shown(categories: tuple[str, ...]) -> str:
    names = _category_names()
    return ", ".join(names.get(c, c) for c in categories)


def load_rows(session: Session, found: Sequence[PageRow], today: date) -> list[QueueRow]:
    """The queue's cases as rows, in the order found (`case_queue`'s page statement)."""
    if not found:
        return []
    positions = {name: i for i, name in enumerate(found[0]._fields)}
    columns = itemgetter(*(positions[name] for name in PAGE_COLUMNS))
    due_checks: dict[int, list[FundingCheck]] = defaultdict(list)
    with_checks_due = [r.id for r in found if r.funding_due]
    for start in range(0, len(with_checks_due), ROWS_PER_STATEMENT):
        ids = with_checks_due[start : start + ROWS_PER_STATEMENT]
        for check in session.execute(_CHECKS_DUE, {"ids": ids, "today": today}).scalars():
            due_checks[check.case_id].append(check)
    bodies: dict[int, QueuedBody] = {}
    cases: list[QueuedCase] = []  # filled below, before any row asks for its clocks
    page_clocks = PageClocks(session, cases)
    rows = []
    for (
        case_id,
        reference,
        openness,
        state,
        urgent,
        submitted_on,
        body_id,
        body_name,
        triaged,
        claimed,
        due,
        kind,
        papers_late,
        _,
    ) in map(columns, found):
        case = QueuedCase(case_id, reference, openness, state, bool(urgent), submitted_on)
        cases.append(case)
        body = None
        if body_id is not None:
            body = bodies.get(body_id) or QueuedBody(body_id, body_name)
            bodies[body_id] = body
        rows.append(
            QueueRow(
                case=case,
                body=body,
                # Those confirmed at triage if there are any, else those claimed.
                categories=sorted(triaged or set((claimed or "").split(",")) - {""}),
                today=today,
                next_deadline_on=due,
                next_deadline_kind=kind,
                page_clocks=page_clocks,
                papers_overdue=papers_late,
                funding_checks_due=due_checks.get(case_id, []),
            )
        )
    return rows


# Built once, as they are asked for on every request.
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_TODAY = bindparam("today", type_=Date)
_CLOCKS = (
    select(
        CaseClock.case_id,
        CaseClock.kind,
        CaseClock.started_on,
        CaseClock.due_on,
        CaseClock.paused_on,
        CaseClock.met_on,
        CaseClock.stopped_on,
    )
    .where(CaseClock.case_id.in_(_IDS))
    .order_by(CaseClock.id)
)
_CHECKS_DUE = (
    select(FundingCheck)
    .where(
        FundingCheck.case_id.in_(_IDS),
        FundingCheck.status == "scheduled",
        FundingCheck.due_on <= _TODAY,
    )
    .order_by(FundingCheck.due_on)
)
