"""The queue table's rows, written in Python rather than by the template: every value is
escaped, and each tag is exactly the `tag` macro's markup."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from flask import Flask

from mediation.domain import clocks
from mediation.models.casework import FundingCheck
from mediation.services.queue_rows import PageClocks, QueuedBody, QueuedCase, QueueRow
from mediation.web.casework import queue_table

TODAY = date(2027, 3, 10)


def _row(**changes: Any) -> QueueRow:
    case = QueuedCase(
        id=1,
        reference=changes.pop("reference", "CM-ABCD-EFGH"),
        openness="confidential",
        state=changes.pop("state", "acknowledged"),
        urgent=changes.pop("urgent", False),
        submitted_on=date(2027, 3, 5),
    )
    values: dict[str, Any] = {
        "case": case,
        "body": QueuedBody(id=7, name="Riverside Borough Council"),
        "categories": ["funding"],
        "today": TODAY,
        "next_deadline_on": None,
        "next_deadline_kind": None,
        "page_clocks": PageClocks(cast(Any, None), [case]),
    }
    values.update(changes)
    return QueueRow(**values)


def test_every_value_from_the_database_is_escaped() -> None:
    row = _row(
        reference="CM-<b>-&",
        body=QueuedBody(id=7, name='<script>alert("x")</script> & Sons'),
        categories=["<img src=x>"],
    )
    html = str(queue_table.table_rows([row], "/casework/cases/"))
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Sons" in html
    assert 'href="/casework/cases/CM-&lt;b&gt;-&amp;"' in html
    assert "&lt;img src=x&gt;" in html


def test_a_row_shows_the_case_its_body_received_day_and_nearest_deadline() -> None:
    due = TODAY + timedelta(days=3)
    row = _row(next_deadline_on=due, next_deadline_kind=clocks.TRIAGE)
    html = str(queue_table.table_rows([row], "/casework/cases/"))
    assert '<a href="/casework/cases/CM-ABCD-EFGH">CM-ABCD-EFGH</a>' in html
    assert "Riverside Borough Council" in html
    assert "5 Mar 2027" in html
    assert f"{clocks.LABELS[clocks.TRIAGE]}: 13 Mar 2027" in html


def test_a_row_without_a_body_categories_or_deadline_says_so() -> None:
    row = _row(body=None, categories=[])
    html = str(queue_table.table_rows([row], "/c/"))
    assert queue_table.NO_BODY in html
    assert html.count(f'<td class="table__cell">{queue_table.NONE_SHOWN}</td>') == 2


def test_the_tags_are_the_tag_macros_markup_in_the_queues_order(app: Flask) -> None:
    with app.app_context():
        macros = app.jinja_env.get_template("macros/components.html").module
        tag = cast(Any, macros).tag
        expected = [
            str(tag("Urgent", "red")),
            str(tag("Overdue", "orange")),
            str(tag("New", "blue")),
            str(tag("Papers late", "yellow")),
            str(tag("Funding check due", "purple")),
        ]
    row = _row(
        state="submitted",
        urgent=True,
        next_deadline_on=TODAY - timedelta(days=1),
        next_deadline_kind=clocks.TRIAGE,
        papers_overdue=1,
        funding_checks_due=[cast(FundingCheck, object())],
    )
    assert queue_table.flags(row) == " ".join(expected)
    assert queue_table.flags(_row()) == ""
