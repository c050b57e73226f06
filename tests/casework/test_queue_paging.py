"""The case queue in pages: the database orders, counts and pages it, and a case filed
without clock rows is placed by the deadlines it should have."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from mediation.domain import clocks
from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.casework import CaseClock
from mediation.services import case_queue
from tests.casework.conftest import Driver, Staffed, staff_browser

REFERENCE = re.compile(r"CM-[0-9A-Z]{4}-[0-9A-Z]{4}")


def _clock(case: Case, kind: str) -> CaseClock:
    return db.session.execute(
        select(CaseClock).where(CaseClock.case_id == case.id, CaseClock.kind == kind)
    ).scalar_one()


def _references(queue: case_queue.Queue) -> list[str]:
    return [row.case.reference for row in queue.rows]


def test_a_case_without_clock_rows_is_placed_by_the_deadlines_it_should_have(
    driver: Driver,
) -> None:
    today = date.today()
    filed_today = driver.file().case  # no clock rows: acknowledgement due in 5 working days
    later = driver.to("acknowledged").case  # triage due in 10 working days
    sooner = driver.to("acknowledged").case
    _clock(sooner, clocks.TRIAGE).due_on = today + timedelta(days=1)
    forgotten = driver.file("anonymous").case  # no clock rows, filed a month ago: overdue
    forgotten.submitted_on = today - timedelta(days=30)
    db.session.commit()
    assert (
        db.session.execute(select(CaseClock).where(CaseClock.case_id == filed_today.id)).first()
        is None
    )

    queue = case_queue.build_queue(db.session, case_queue.QueueFilters())
    assert _references(queue) == [
        forgotten.reference,
        sooner.reference,
        filed_today.reference,
        later.reference,
    ]
    assert queue.counts == {"all": 4, "new": 2, "overdue": 1, "urgent": 0, "funding_checks": 0}
    overdue = case_queue.build_queue(db.session, case_queue.QueueFilters(view="overdue"))
    assert _references(overdue) == [forgotten.reference]
    assert [r.overdue for r in queue.rows] == [True, False, False, False]


def test_pages_split_the_same_order_and_every_page_has_the_counts(driver: Driver) -> None:
    filed = [driver.file().case for _ in range(5)]
    urgent = filed[3]
    urgent.urgent = True
    db.session.commit()
    everything = case_queue.build_queue(db.session, case_queue.QueueFilters())
    assert _references(everything)[0] == urgent.reference
    assert everything.pages == 1 and everything.matching == 5

    pages = [
        case_queue.build_queue(db.session, case_queue.QueueFilters(), page=n, page_size=2)
        for n in (1, 2, 3)
    ]
    assert [len(p.rows) for p in pages] == [2, 2, 1]
    assert [r for p in pages for r in _references(p)] == _references(everything)
    assert all(p.counts == everything.counts and p.pages == 3 for p in pages)
    assert (pages[2].first_number, pages[2].last_number) == (5, 5)
    # A page beyond the end (the queue shrank since the link was made) shows the last one.
    beyond = case_queue.build_queue(db.session, case_queue.QueueFilters(), page=9, page_size=2)
    assert beyond.page == 3 and _references(beyond) == _references(pages[2])
    # Filters page too; the counts of the views stay those of the whole queue.
    only_urgent = case_queue.build_queue(
        db.session, case_queue.QueueFilters(view="urgent"), page=1, page_size=2
    )
    assert _references(only_urgent) == [urgent.reference] and only_urgent.pages == 1
    assert only_urgent.counts == everything.counts


def test_the_queue_page_links_to_the_next_page_keeping_the_filters(
    app: Flask, driver: Driver, staffed: Staffed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(case_queue, "PAGE_SIZE", 2)
    filed = {driver.file().case.reference for _ in range(3)}
    officer = staff_browser(app, staffed.logins["officer"])

    first = officer.get("/casework/?view=new").text
    assert "Cases 1 to 2 of 3" in first
    assert 'href="/casework/?view=new&amp;page=2"' in first
    second = officer.get("/casework/?view=new&page=2").text
    assert "Cases 3 to 3 of 3" in second and 'href="/casework/?view=new"' in second
    shown = set(REFERENCE.findall(first)) | set(REFERENCE.findall(second))
    assert shown == filed
    assert officer.get("/casework/?page=not-a-number").status_code == 200


@pytest.mark.parametrize("path", ["/casework/", "/respondent/"])
def test_a_page_number_past_any_integer_shows_the_last_page(
    app: Flask, driver: Driver, staffed: Staffed, path: str
) -> None:
    """A page number typed into the address bar, however large, is not an offset the
    database refuses (a 500): it shows the list's last page."""
    filed = driver.to("informal_resolution")  # in the queue, and shared with the body
    login = staffed.logins["officer" if path == "/casework/" else "respondent"]
    browser = staff_browser(app, login)
    for page in ("999999999999999999999999", "-5", "x"):
        response = browser.get(f"{path}?page={page}")
        assert response.status_code == 200
        assert filed.reference in response.text
