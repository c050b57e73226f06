"""The case officers' queue: new, overdue and urgent cases, funding checks that are due,
filtered by state, breach category, body type and region (of the public body)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.domain import clocks, workflow
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case
from mediation.models.casework import CaseClock, FundingCheck, MediationSession, TriageRecord
from mediation.models.intake import CaseBreach
from mediation.services import case_clocks

VIEWS = ("all", "new", "overdue", "urgent", "funding_checks")
DONE_STATES = frozenset({"closed", "draft"})


@dataclass(frozen=True)
class QueueFilters:
    view: str = "all"
    state: str | None = None
    category: str | None = None
    body_type: str | None = None
    region: str | None = None


@dataclass
class QueueRow:
    case: Case
    body: RespondentBody | None
    categories: list[str]
    clock_statuses: list[clocks.ClockStatus]
    next_deadline: clocks.ClockStatus | None
    papers_overdue: int = 0
    funding_checks_due: list[FundingCheck] = field(default_factory=list)

    @property
    def overdue(self) -> bool:
        return any(c.overdue for c in self.clock_statuses) or self.papers_overdue > 0

    @property
    def new(self) -> bool:
        return self.case.state == "submitted"

    @property
    def state_label(self) -> str:
        return workflow.state_label(self.case.state)


@dataclass(frozen=True)
class Queue:
    rows: list[QueueRow]
    counts: dict[str, int]


def _matches(row: QueueRow, filters: QueueFilters) -> bool:
    if filters.view == "new" and not row.new:
        return False
    if filters.view == "overdue" and not row.overdue:
        return False
    if filters.view == "urgent" and not row.case.urgent:
        return False
    if filters.view == "funding_checks" and not row.funding_checks_due:
        return False
    if filters.state and row.case.state != filters.state:
        return False
    if filters.category and filters.category not in row.categories:
        return False
    if filters.body_type and (row.body is None or row.body.body_type != filters.body_type):
        return False
    return not (filters.region and (row.body is None or row.body.region != filters.region))


def build_queue(session: Session, filters: QueueFilters, today: date | None = None) -> Queue:
    """Every live case (and closed ones with a funding check due), urgent and overdue first."""
    today = today or case_clocks.today()
    due_checks: dict[int, list[FundingCheck]] = defaultdict(list)
    for check in session.execute(
        select(FundingCheck).where(FundingCheck.status == "scheduled", FundingCheck.due_on <= today)
    ).scalars():
        due_checks[check.case_id].append(check)
    cases = list(
        session.execute(
            select(Case)
            .where(Case.keys_destroyed_on.is_(None))
            .where((Case.state.not_in(DONE_STATES)) | (Case.id.in_(list(due_checks))))
            .order_by(Case.submitted_on, Case.id)
        ).scalars()
    )
    ids = [c.id for c in cases]
    bodies = {b.id: b for b in session.execute(select(RespondentBody)).scalars()}
    triaged = {
        t.case_id: t.categories
        for t in session.execute(
            select(TriageRecord).where(TriageRecord.case_id.in_(ids))
        ).scalars()
    }
    claimed: dict[int, set[str]] = defaultdict(set)
    for breach in session.execute(select(CaseBreach).where(CaseBreach.case_id.in_(ids))).scalars():
        claimed[breach.case_id].add(breach.category)
    clock_rows: dict[int, list[CaseClock]] = defaultdict(list)
    for row in session.execute(
        select(CaseClock).where(CaseClock.case_id.in_(ids)).order_by(CaseClock.id)
    ).scalars():
        clock_rows[row.case_id].append(row)
    papers_late: dict[int, int] = defaultdict(int)
    for meeting in session.execute(
        select(MediationSession).where(
            MediationSession.case_id.in_(ids),
            MediationSession.cancelled.is_(False),
            MediationSession.papers_due_on < today,
            MediationSession.held_on >= today,
        )
    ).scalars():
        if meeting.complainant_papers_on is None or meeting.respondent_papers_on is None:
            papers_late[meeting.case_id] += 1
    rows = []
    for case in cases:
        stats = case_clocks.statuses(case, clock_rows[case.id], today)
        live = [s for s in stats if s.status in {"running", "due_soon", "overdue"}]
        rows.append(
            QueueRow(
                case=case,
                body=bodies.get(case.respondent_body_id or -1),
                categories=sorted(triaged.get(case.id) or claimed.get(case.id) or []),
                clock_statuses=stats,
                next_deadline=min(live, key=lambda s: s.clock.due_on) if live else None,
                papers_overdue=papers_late[case.id],
                funding_checks_due=due_checks.get(case.id, []),
            )
        )
    counts = {
        "all": len(rows),
        "new": sum(r.new for r in rows),
        "overdue": sum(r.overdue for r in rows),
        "urgent": sum(r.case.urgent for r in rows),
        "funding_checks": sum(bool(r.funding_checks_due) for r in rows),
    }
    chosen = [r for r in rows if _matches(r, filters)]
    chosen.sort(
        key=lambda r: (
            not r.case.urgent,
            not r.overdue,
            r.next_deadline.clock.due_on if r.next_deadline else date.max,
            r.case.id,
        )
    )
    return Queue(chosen, counts)
