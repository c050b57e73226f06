"""The case officers' queue as SQL: one statement that counts every view and finds a page
of cases in order with what the page shows of them, read from the queue's indexes.

Nothing of a case is read but its row of `cases`, where `case_clocks` keeps its nearest
running deadline (and whose) and its next funding check, through two indexes: the live
cases' (`ix_cases_queue`, partial) in the queue's order, and the closed cases' with a
funding check to do by its date. The order comes from a few short runs of the first, each
already in order, so a page never sorts every queued case. Both engines run the same
statement; where SQLite, which keeps no statistics, would choose a worse index, a column
is written `+column` (`index_hints`).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

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
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import CTE, Subquery

from mediation.models.bodies import RespondentBody
from mediation.models.cases import DONE_STATES, Case
from mediation.models.casework import MediationSession, TriageRecord
from mediation.models.intake import CaseBreach
from mediation.services.index_hints import TableScan as _TableScan

if TYPE_CHECKING:
    from mediation.services.case_queue import QueueFilters

VIEWS = ("all", "new", "overdue", "urgent", "funding_checks")
TODAY = bindparam("today", type_=Date)
Statement = Select[*tuple[Any, ...]]


def counted(found: Any, filters: QueueFilters) -> tuple[dict[str, int], int]:
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
    """The cases with a coming mediation session whose papers are late."""
    return select(MediationSession.case_id).where(*_papers_late(TODAY)).cte("papers_late")


def _papers_late(today: BindParameter[date]) -> tuple[ColumnElement[bool], ...]:
    """A coming mediation session whose papers were due and one party's have not come:
    among the sessions still waiting for papers (`ix_mediation_sessions_waiting`, whose
    condition these are word for word), those held from today on, rather than every past
    session, whose papers were all due before today."""
    return (
        *_waiting_for_papers(),
        MediationSession.held_on >= today,
        _TableScan(MediationSession.papers_due_on) < today,
    )


def _waiting_for_papers() -> tuple[ColumnElement[bool], ...]:
    return (
        MediationSession.cancelled.is_(False),
        or_(
            MediationSession.complainant_papers_on.is_(None),
            MediationSession.respondent_papers_on.is_(None),
        ),
    )


# Where a case falls in the queue's order, within its urgency: overdue by a clock; overdue
# only by a mediation session's papers, with a deadline running or not; then due on a
# day; then with no running deadline. Within a rank every case has a deadline or none,
# so ordering by rank, deadline and id puts those with none last, as the queue wants.
CLOCK_OVERDUE, PAPERS_LATE_DATED, PAPERS_LATE_UNDATED, DATED, UNDATED = range(5)
NOT_URGENT = 5  # added to the rank of a case that is not urgent


def _urgency(urgent: ColumnElement[bool]) -> ColumnElement[int]:
    return case((urgent, _n(0)), else_=_n(NOT_URGENT))


def _papers_late_rank(next_deadline_on: Any) -> ColumnElement[int]:
    return case((next_deadline_on.is_(None), _n(PAPERS_LATE_UNDATED)), else_=_n(PAPERS_LATE_DATED))


def _rank(papers_late: CTE) -> ColumnElement[int]:
    return _urgency(Case.urgent.is_(True)) + case(
        (Case.next_deadline_on < TODAY, _n(CLOCK_OVERDUE)),
        (
            Case.id.in_(select(papers_late.c.case_id)),
            _papers_late_rank(Case.next_deadline_on),
        ),
        (Case.next_deadline_on.is_not(None), _n(DATED)),
        else_=_n(UNDATED),
    )


def _n(number: int) -> ColumnElement[int]:
    """A number written into the statement (the code's own), not sent as a parameter."""
    return literal_column(str(number), Integer)


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
    # Tested only on the cases a run reads, against the few cases with papers late, read
    # once: NOT IN over the CTE, which SQLite looks up in an index it makes of it and
    # PostgreSQL in a hash (while the late sessions fit in work_mem, as a few thousand
    # do). A correlated NOT EXISTS let PostgreSQL's generic plan, which guesses one urgent
    # case, re-read every late session for each case it tested. No case_id is NULL.
    papers_not_late = Case.id.not_in(select(papers_late.c.case_id))
    wanted = _wanted(filters, papers_late)
    stretches = {
        CLOCK_OVERDUE: (Case.next_deadline_on < TODAY,),
        DATED: (Case.next_deadline_on >= TODAY, papers_not_late),
        UNDATED: (Case.next_deadline_on.is_(None), papers_not_late),
    }
    if filters.view == "overdue":  # nothing else can be overdue
        del stretches[DATED], stretches[UNDATED]
    runs: list[Statement] = []
    for urgent in (True, False) if filters.view != "urgent" else (True,):
        for place, stretch in stretches.items():
            rank = _n(place + (0 if urgent else NOT_URGENT))
            run = _ranked(rank, filters).where(*_live(), Case.urgent.is_(urgent), *stretch, *wanted)
            runs.append(run.order_by(Case.next_deadline_on, Case.id))
    late = papers_only.c
    run = select(
        (_urgency(late.urgent.is_(True)) + _papers_late_rank(late.next_deadline_on)).label("rank"),
        late.id.label("case_id"),
        late.next_deadline_on,
    ).where(late.live == _n(1))
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
    """The queued cases overdue only by a mediation session's papers, for their count and
    their run: few, read once by their ids rather than found by walking an index."""
    return (
        select(
            Case.id,
            Case.urgent,
            Case.next_deadline_on,
            case((_TableScan(Case.state).not_in(_DONE_STATES_SQL), _n(1)), else_=_n(0)).label(
                "live"
            ),
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
    return (columns.rank, columns.next_deadline_on, columns.case_id)


def _counts(filters: QueueFilters, papers_late: CTE, papers_only: CTE) -> Subquery:
    """One row: each view's count, from one reading of the live cases' index, one of the
    closed cases' with a check due and short stretches of both, rather than a test of
    every queued case for every view."""
    clock_overdue = Case.next_deadline_on < TODAY
    # Urgent or not, listed, so that the live cases are counted in their own index (the
    # overdue ones in a stretch of it for each) rather than among every case with keys.
    either = Case.urgent.in_([true(), false()])  # written into the statement, not sent
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
        # Counted apart: each is a count of index entries, which both engines do without
        # reading them one by one; a FILTER would test every live case's state.
        _count(*_live()).label("live"),
        _count(*_live(), Case.state == "submitted").label("new"),
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
    """How many of the rows read meet the condition (0 of none): COUNT(*) FILTER, which
    both engines count without working out a CASE for every row."""
    return func.count().filter(condition)


@lru_cache(maxsize=64)
def counts_statement(filters: QueueFilters) -> Statement:
    papers_late = _papers_late_cases()
    return select(_counts(filters, papers_late, _papers_only_cases(papers_late)))


@lru_cache(maxsize=64)
def page_statement(filters: QueueFilters, *, paged: bool) -> Statement:
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
        _shown(
            select(*_shown_columns(), *counts.c).join_from(
                chosen, Case, Case.id == chosen.c.case_id
            )
        )
        .join(counts, true())
        .order_by(*_in_order(chosen.c))
    )


@lru_cache(maxsize=2)
def members_statement(*, by_id: bool) -> Statement:
    """What the queue shows of every case in it (live, or closed with a funding check due,
    while its keys exist), in no order: the page statement's columns without the counts.
    Of those whose ids are given (`ids`) when `by_id`."""
    live, closed = and_(*_live()), and_(*_closed_with_check_due())
    if by_id:
        wanted = Case.id.in_(bindparam("ids", expanding=True))
        return _shown(select(*_shown_columns()).where(wanted, or_(live, closed)))
    # Each half read from its own index, as the page statement reads them.
    members = union_all(
        select(Case.id.label("case_id")).where(live),
        select(Case.id.label("case_id")).where(closed),
    ).subquery("members")
    return _shown(select(*_shown_columns()).join_from(members, Case, Case.id == members.c.case_id))


def _shown_columns() -> list[Any]:
    """What a row of the queue shows of its case (`queue_rows.PAGE_COLUMNS`)."""
    return [
        Case.id,
        Case.reference,
        Case.openness,
        Case.state,
        Case.urgent,
        Case.submitted_on,
        Case.next_deadline_on,
        Case.next_deadline_kind,
        RespondentBody.id.label("body_id"),
        RespondentBody.name.label("body_name"),
        TriageRecord.categories.label("triaged"),
        _claimed_categories().label("claimed"),
        _late_sessions().label("papers_late"),
        (Case.funding_check_due_on <= TODAY).label("funding_due"),
    ]


def _shown(found: Statement) -> Statement:
    """The case's public body and triage record, for `_shown_columns`."""
    return found.outerjoin(RespondentBody, RespondentBody.id == Case.respondent_body_id).outerjoin(
        TriageRecord, TriageRecord.case_id == Case.id
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
    claimed. Triage keeps them as a JSON list of ids, matched here as quoted text, read
    for each case by its id: as a scalar subquery, so that PostgreSQL does not instead
    turn every triage record ever made into text to join them."""
    triaged = func.coalesce(
        select(cast(TriageRecord.categories, String))
        .where(TriageRecord.case_id == Case.id)
        .scalar_subquery(),
        "",
    )
    claimed = exists().where(CaseBreach.case_id == Case.id, CaseBreach.category == category)
    return or_(
        triaged.contains(f'"{category}"', autoescape=True),
        and_(~triaged.contains('"'), claimed),
    )
