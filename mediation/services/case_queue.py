"""The case officers' queue: new, overdue and urgent cases, funding checks that are due,
filtered by state, breach category, body type and region (of the public body).

The database filters, counts, orders and pages it, in one statement whatever the number
of cases, which also reads the page's cases (`queue_rows` adds their details). It needs
nothing of a case but its row of `cases`, where `case_clocks` keeps its nearest running
deadline and its next funding check, and it reads those from two indexes: the live
cases', kept in the queue's order, and the closed cases' by their next funding check.
A page is then a few short runs of an index, not a sort of every queued case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import CTE, Subquery
from sqlalchemy.sql.visitors import InternalTraversal

from mediation.domain import workflow
from mediation.models.bodies import RespondentBody
from mediation.models.cases import DONE_STATES, Case
from mediation.models.casework import MediationSession, TriageRecord
from mediation.models.intake import CaseBreach
from mediation.services import case_clocks, queue_rows
from mediation.services.queue_rows import QueueRow

__all__ = ["PAGE_SIZE", "QUEUE_STATES", "VIEWS", "Queue", "QueueFilters", "QueueRow"]

VIEWS = ("all", "new", "overdue", "urgent", "funding_checks")
QUEUE_STATES = tuple(sorted(frozenset(workflow.STATES) - frozenset(DONE_STATES)))
PAGE_SIZE = 50

TODAY = bindparam("today", type_=Date)
Statement = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class QueueFilters:
    view: str = "all"
    state: str | None = None
    category: str | None = None
    body_type: str | None = None
    region: str | None = None

    @property
    def narrowed(self) -> bool:
        """Filtered by more than the view (whose count the counts already give)."""
        return bool(self.state or self.category or self.body_type or self.region)


@dataclass(frozen=True)
class Queue:
    """One page of the cases matching the filters, and how many each view holds."""

    rows: list[QueueRow]
    counts: dict[str, int]
    matching: int = 0  # cases matching the filters, on every page
    page: int = 1
    page_size: int | None = None  # None: every matching case on one page

    @property
    def pages(self) -> int:
        if not self.page_size:
            return 1
        return max(1, -(-self.matching // self.page_size))

    @property
    def first_number(self) -> int:
        return (self.page - 1) * (self.page_size or 0) + 1 if self.rows else 0

    @property
    def last_number(self) -> int:
        return self.first_number + len(self.rows) - 1 if self.rows else 0


def build_queue(
    session: Session,
    filters: QueueFilters,
    today: date | None = None,
    *,
    page: int = 1,
    page_size: int | None = None,
) -> Queue:
    """Every live case (and closed ones with a funding check due), urgent and overdue
    first, then by the nearest deadline; one page of them when `page_size` is given (the
    last page when asked for one past it, as when the queue shrank since the link was
    made)."""
    today = today or case_clocks.today()
    page = max(1, page)
    found = _page(session, filters, today, page, page_size)
    if found:  # every row carries the counts
        counts, matching = _counted(found[0], filters)
    else:
        counts, matching = _counted(
            session.execute(_counts_statement(filters), {"today": today}).one(), filters
        )
        last = Queue(rows=[], counts=counts, matching=matching, page_size=page_size).pages
        if matching and page > last:
            page = last
            found = _page(session, filters, today, page, page_size)
        else:
            page = 1
    return Queue(
        rows=queue_rows.load_rows(session, found, today),
        counts=counts,
        matching=matching,
        page=page,
        page_size=page_size,
    )


def _page(
    session: Session, filters: QueueFilters, today: date, page: int, page_size: int | None
) -> list[queue_rows.PageRow]:
    parameters: dict[str, Any] = {"today": today}
    if page_size is not None:
        offset = (page - 1) * page_size
        parameters.update(limit=page_size, offset=offset, window=offset + page_size)
    statement = _page_statement(filters, paged=page_size is not None)
    return list(session.execute(statement, parameters))


def _counted(found: Any, filters: QueueFilters) -> tuple[dict[str, int], int]:
    """How many cases each view holds, and how many match the filters."""
    count = found._mapping
    counts = {
        "all": count["live"] + count["closed"],
        "new": count["new"],
        "overdue": count["live_overdue"] + count["closed_overdue"] + count["only_papers_late"],
        "urgent": count["live_urgent"] + count["closed_urgent"],
        "funding_checks": count["funding_checks"],
    }
    matching = count["matching"] if filters.narrowed else counts[filters.view]
    return {view: int(n) for view, n in counts.items()}, int(matching)


# The two halves of the queue, each read from an index of its own: live cases, and closed
# ones with a funding check due, while their keys exist. A live case is "not closed or
# draft", word for word the condition of its (partial) index, so that both databases
# see that the index holds every case the statement asks for.
def _live() -> tuple[ColumnElement[bool], ...]:
    return (Case.keys_destroyed_on.is_(None), Case.state.not_in(_DONE_STATES_SQL))


def _closed_with_check_due() -> tuple[ColumnElement[bool], ...]:
    return (
        Case.keys_destroyed_on.is_(None),
        Case.funding_check_due_on <= TODAY,
        _TableScan(Case.state).in_(_DONE_STATES_SQL),
    )


# Written into the statement as the index's condition is, rather than sent as parameters.
_DONE_STATES_SQL = [literal_column(f"'{state}'", String) for state in DONE_STATES]


def _papers_late_cases() -> CTE:
    return select(MediationSession.case_id).where(*_papers_late(TODAY)).cte("papers_late")


def _papers_late(today: BindParameter[date]) -> tuple[ColumnElement[bool], ...]:
    """A coming mediation session whose papers were due and one party's have not come."""
    return (
        MediationSession.cancelled.is_(False),
        MediationSession.papers_due_on < today,
        MediationSession.held_on >= today,
        or_(
            MediationSession.complainant_papers_on.is_(None),
            MediationSession.respondent_papers_on.is_(None),
        ),
    )


# Where a case falls in the queue's order, within its urgency: overdue by a clock, overdue
# only by a mediation session's papers, then due on a day, then with no running deadline.
_CLOCK_OVERDUE, _PAPERS_LATE, _DATED, _UNDATED = range(4)


def _urgency(urgent: ColumnElement[bool]) -> ColumnElement[int]:
    return case((urgent, 0), else_=4)


def _rank(papers_late: CTE) -> ColumnElement[int]:
    return _urgency(Case.urgent.is_(True)) + case(
        (Case.next_deadline_on < TODAY, _CLOCK_OVERDUE),
        (Case.id.in_(select(papers_late.c.case_id)), _PAPERS_LATE),
        (Case.next_deadline_on.is_not(None), _DATED),
        else_=_UNDATED,
    )


def _overdue(papers_late: CTE) -> ColumnElement[bool]:
    return or_(Case.next_deadline_on < TODAY, Case.id.in_(select(papers_late.c.case_id)))


def _wanted(filters: QueueFilters, papers_late: CTE) -> list[ColumnElement[bool]]:
    """What the view and the filters ask of a case."""
    view = {
        "new": _TableScan(Case.state) == "submitted",
        "overdue": _overdue(papers_late),
        "urgent": _TableScan(Case.urgent).is_(True),
        "funding_checks": _TableScan(Case.funding_check_due_on) <= TODAY,
    }.get(filters.view)
    return [c for c in (view, *_filter_conditions(filters)) if c is not None]


def _runs(
    filters: QueueFilters, papers_late: CTE, papers_only: CTE, *, paged: bool
) -> list[Statement]:
    """The queue in its order, as runs that each read the live cases' index
    (`ix_cases_queue`: urgent, deadline, id) in order from one point, the few cases
    overdue only by their papers, and the closed cases with a check due, ranked alike.
    Paged, each run stops after as many cases as reach the end of the page, among which
    the page is."""
    # Tested only on the cases a run reads, through the sessions of each.
    papers_not_late = ~exists().where(MediationSession.case_id == Case.id, *_papers_late(TODAY))
    wanted = _wanted(filters, papers_late)
    by_deadline = (Case.next_deadline_on, Case.id)
    runs: list[Statement] = []
    for urgent in (True, False) if filters.view != "urgent" else (True,):
        first = 0 if urgent else 4
        if filters.view == "overdue":  # nothing else can be overdue
            dated = [Case.next_deadline_on < TODAY]
        else:
            dated = [
                Case.next_deadline_on.is_not(None),
                or_(Case.next_deadline_on < TODAY, papers_not_late),
            ]
        rank = case((Case.next_deadline_on < TODAY, first + _CLOCK_OVERDUE), else_=first + _DATED)
        run = _ranked(rank, filters).where(*_live(), Case.urgent.is_(urgent), *dated, *wanted)
        runs.append(run.order_by(*by_deadline))
        if filters.view != "overdue":
            undated = literal_column(str(first + _UNDATED), Integer)
            run = _ranked(undated, filters).where(
                *_live(),
                Case.urgent.is_(urgent),
                Case.next_deadline_on.is_(None),
                papers_not_late,
                *wanted,
            )
            runs.append(run.order_by(*by_deadline))
    late = papers_only.c
    run = select(
        (_urgency(late.urgent.is_(True)) + _PAPERS_LATE).label("rank"),
        late.id.label("case_id"),
        late.next_deadline_on,
    ).where(late.live == 1)
    if wanted:  # which ask of the case itself
        run = run.join(Case, Case.id == late.id).where(*wanted)
        if filters.body_type or filters.region:
            run = run.outerjoin(RespondentBody, RespondentBody.id == Case.respondent_body_id)
    runs.append(run.order_by(*_in_order(run.selected_columns)))
    run = _ranked(_rank(papers_late), filters).where(*_closed_with_check_due(), *wanted)
    runs.append(run.order_by(*_in_order(run.selected_columns)))
    if not paged:
        return [run.order_by(None) for run in runs]
    # A run with its own order and limit is a subquery in a union (SQLite asks it).
    window = bindparam("window", type_=Integer)
    return [select(*run.limit(window).subquery().c) for run in runs]


def _papers_only_cases(papers_late: CTE) -> CTE:
    """The queued cases overdue only by a mediation session's papers: few, read once by
    their ids (not found by walking an index), for their count and their run."""
    return (
        select(
            Case.id,
            Case.urgent,
            Case.next_deadline_on,
            case((_TableScan(Case.state).not_in(_DONE_STATES_SQL), 1), else_=0).label("live"),
        )
        .where(
            Case.id.in_(select(papers_late.c.case_id)),
            _TableScan(Case.keys_destroyed_on).is_(None),
            or_(
                _TableScan(Case.state).not_in(_DONE_STATES_SQL),
                _TableScan(Case.funding_check_due_on) <= TODAY,
            ),
            or_(
                _TableScan(Case.next_deadline_on) >= TODAY,
                _TableScan(Case.next_deadline_on).is_(None),
            ),
        )
        .cte("papers_only")
    )


def _ranked(rank: ColumnElement[int], filters: QueueFilters) -> Statement:
    found = select(rank.label("rank"), Case.id.label("case_id"), Case.next_deadline_on)
    if filters.body_type or filters.region:
        found = found.outerjoin(RespondentBody, RespondentBody.id == Case.respondent_body_id)
    return found


def _in_order(columns: Any) -> tuple[Any, ...]:
    """Urgent first, then overdue, then by the nearest deadline (none last)."""
    return (columns.rank, columns.next_deadline_on.asc().nulls_last(), columns.case_id)


def _counts(filters: QueueFilters, papers_late: CTE, papers_only: CTE) -> Subquery:
    """One row: each view's count, from stretches of the queue's indexes (one reading of
    the live cases' index at most), never a test of every queued case for every view."""
    clock_overdue = Case.next_deadline_on < TODAY
    # Urgent or not, listed, so that the live cases are counted in their own index (the
    # overdue ones in a stretch of it for each) rather than among every case with keys.
    either = Case.urgent.in_([True, False])
    closed = (
        select(
            func.count().label("closed"),
            _total(Case.urgent.is_(True)).label("closed_urgent"),
            _total(clock_overdue).label("closed_overdue"),
        )
        .where(*_closed_with_check_due())
        .subquery("closed_counts")
    )
    columns = [
        *closed.c,
        _count(*_live(), either).label("live"),
        # A new case is live: found by its state, and its keys checked.
        _count(Case.state == "submitted", Case.keys_destroyed_on.is_(None)).label("new"),
        _count(*_live(), Case.urgent.is_(True)).label("live_urgent"),
        _count(*_live(), either, clock_overdue).label("live_overdue"),
        _count(Case.keys_destroyed_on.is_(None), Case.funding_check_due_on <= TODAY).label(
            "funding_checks"
        ),
        select(func.count()).select_from(papers_only).scalar_subquery().label("only_papers_late"),
    ]
    if filters.narrowed:
        wanted = _wanted(filters, papers_late)
        matching = [
            select(func.count())
            .select_from(_ranked(literal(0), filters).where(*half, *wanted).subquery())
            .scalar_subquery()
            for half in (_live(), _closed_with_check_due())
        ]
        columns.append((matching[0] + matching[1]).label("matching"))
    return select(*columns).select_from(closed).subquery("counts")


def _count(*conditions: ColumnElement[bool]) -> Any:
    return select(func.count()).select_from(Case).where(*conditions).scalar_subquery()


def _total(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many of the rows read meet the condition (0 of none)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@lru_cache(maxsize=64)
def _counts_statement(filters: QueueFilters) -> Statement:
    papers_late = _papers_late_cases()
    return select(_counts(filters, papers_late, _papers_only_cases(papers_late)))


@lru_cache(maxsize=64)
def _page_statement(filters: QueueFilters, *, paged: bool) -> Statement:
    """The cases matching the filters, in the queue's order (a page of them when paged),
    with what the page shows of each (`queue_rows`) and the counts of every view."""
    papers_late = _papers_late_cases()
    papers_only = _papers_only_cases(papers_late)
    queued = union_all(*_runs(filters, papers_late, papers_only, paged=paged)).subquery("queued")
    order = select(queued).order_by(*_in_order(queued.c))
    if paged:
        order = order.limit(bindparam("limit", type_=Integer)).offset(
            bindparam("offset", type_=Integer)
        )
    chosen = order.subquery("queue_page")
    counts = _counts(filters, papers_late, papers_only)
    return (
        select(
            Case.id,
            Case.reference,
            Case.openness,
            Case.state,
            Case.urgent,
            Case.submitted_on,
            Case.closed_on,
            Case.mediator_id,
            Case.next_deadline_on,
            Case.next_deadline_kind,
            RespondentBody.id.label("body_id"),
            RespondentBody.name.label("body_name"),
            RespondentBody.body_type.label("body_type"),
            RespondentBody.region.label("body_region"),
            TriageRecord.categories.label("triaged"),
            _claimed_categories().label("claimed"),
            _late_sessions().label("papers_late"),
            (Case.funding_check_due_on <= TODAY).label("funding_due"),
            *counts.c,
        )
        .join_from(chosen, Case, Case.id == chosen.c.case_id)
        .outerjoin(RespondentBody, RespondentBody.id == Case.respondent_body_id)
        .outerjoin(TriageRecord, TriageRecord.case_id == Case.id)
        .join(counts, true())
        .order_by(*_in_order(chosen.c))
    )


def _claimed_categories() -> Any:
    """The breach categories the complainant claimed, as "id,id" (ids have no commas),
    for a case that has none confirmed at triage (whose categories are shown instead)."""
    claimed = (
        select(func.aggregate_strings(CaseBreach.category, ","))
        .where(CaseBreach.case_id == Case.id)
        .scalar_subquery()
    )
    return case((_triaged_categories(), None), else_=claimed)


def _triaged_categories() -> ColumnElement[bool]:
    """Triage confirmed categories (kept as a JSON list of ids, read here as text)."""
    return cast(TriageRecord.categories, String).contains('"')


def _late_sessions() -> Any:
    """How many of the case's coming mediation sessions have papers late."""
    return (
        select(func.count())
        .where(MediationSession.case_id == Case.id, *_papers_late(TODAY))
        .scalar_subquery()
    )


def _filter_conditions(filters: QueueFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.state:
        conditions.append(_TableScan(Case.state) == filters.state)
    if filters.body_type:
        conditions.append(RespondentBody.body_type == filters.body_type)
    if filters.region:
        conditions.append(RespondentBody.region == filters.region)
    if filters.category:
        conditions.append(_has_category(filters.category))
    return conditions


def _has_category(category: str) -> ColumnElement[bool]:
    """The categories confirmed at triage if there are any, else those the complainant
    claimed. Triage keeps them as a JSON list of ids, matched here as quoted text."""
    categories_text = cast(TriageRecord.categories, String)
    triaged = exists().where(TriageRecord.case_id == Case.id, _triaged_categories())
    triaged_as = exists().where(
        TriageRecord.case_id == Case.id,
        categories_text.contains(f'"{category}"', autoescape=True),
    )
    claimed = exists().where(CaseBreach.case_id == Case.id, CaseBreach.category == category)
    return or_(triaged_as, and_(~triaged, claimed))


class _TableScan(ColumnElement[Any]):
    """A column SQLite must not look up through its own index: `+column` there, the
    column elsewhere. Without statistics SQLite would take the index on a case's state or
    urgency (tens of thousands of closed cases, read one by one) over the queue's indexes,
    which hold the column too, or read a few cases by id through an index."""

    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]
    inherit_cache = True  # the statement's compiled form is cached like any other

    def __init__(self, column: Any) -> None:
        self.column = column.expression  # the table's column, from the mapped attribute
        self.type = self.column.type


@compiles(_TableScan)
def _compile_table_scan(element: _TableScan, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(_TableScan, "sqlite")
def _compile_table_scan_sqlite(element: _TableScan, compiler: Any, **kw: Any) -> str:
    return "+" + str(compiler.process(element.column, **kw))
