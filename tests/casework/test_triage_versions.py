"""Two case officers assessing one case at once: the second save, made from an older
version of the assessment, is refused with the first officer's answer shown beside the
second's, and nothing changes; saving again having seen it replaces the answer."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.cases import Case
from mediation.models.casework import TriageRecord
from mediation.models.staff import StaffUser
from mediation.services import triage
from mediation.services.case_keys import lock_case
from mediation.services.errors import ServiceError
from tests.casework.conftest import Browser, Driver, Staffed, staff_browser
from tests.conftest import ON_POSTGRES

READ_VERSION = re.compile(r'name="read_version" type="hidden" value="(\d+)"')


def _assessment(case: Case) -> TriageRecord:
    db.session.expire_all()
    row = triage.triage_record(db.session, case)
    assert row is not None
    return row


def _triage_entries(reference: str) -> int:
    return db.session.execute(
        select(func.count()).where(
            AuditEntry.case_reference == reference, AuditEntry.action == "case.triaged"
        )
    ).scalar_one()


def _save(officer: StaffUser, case: Case, categories: list[str], body_id: int, **kw: Any) -> None:
    triage.record_triage(
        db.session, officer, case, categories=categories, respondent_body_id=body_id, **kw
    )


# The service ------------------------------------------------------------------------------


def test_a_save_from_an_older_version_is_refused_and_changes_nothing(
    driver: Driver, staffed: Staffed
) -> None:
    s = staffed
    filed = driver.to("triage")  # the driver's officer saved version 1
    read = _assessment(filed.case).version
    # Both officers read version `read`; the first saves.
    _save(s.officer, filed.case, ["independence"], s.body_id, read_version=read)
    db.session.commit()
    saved = _assessment(filed.case)
    assert saved.version == read + 1
    entries = _triage_entries(filed.reference)

    with pytest.raises(triage.AssessmentChanged) as refused:
        _save(
            s.second_officer,
            filed.case,
            ["consultation"],
            s.other_body_id,
            language="cy",
            read_version=read,
        )
    db.session.rollback()

    assert "Another case officer saved this assessment" in str(refused.value)
    assert "nothing was changed" in str(refused.value)
    after = _assessment(filed.case)
    assert (after.version, after.categories, after.language, after.triaged_by_id) == (
        read + 1,
        ["independence"],
        None,
        s.officer.id,
    )
    db.session.refresh(filed.case)
    assert filed.case.respondent_body_id == s.body_id
    assert _triage_entries(filed.reference) == entries


def test_saving_again_having_seen_the_other_answer_replaces_it(
    driver: Driver, staffed: Staffed
) -> None:
    s = staffed
    filed = driver.to("triage")
    current = _assessment(filed.case).version
    _save(s.second_officer, filed.case, ["consultation"], s.body_id, read_version=current)
    db.session.commit()
    row = _assessment(filed.case)
    assert (row.version, row.categories, row.triaged_by_id) == (
        current + 1,
        ["consultation"],
        s.second_officer.id,
    )


def test_the_first_assessment_of_a_case_is_version_one_and_needs_no_earlier_one(
    driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("acknowledged")
    assert triage.triage_record(db.session, filed.case) is None
    _save(
        staffed.officer,
        filed.case,
        ["funding_change"],
        staffed.body_id,
        read_version=triage.NO_ASSESSMENT,
    )
    db.session.commit()
    assert _assessment(filed.case).version == 1
    # A second "first" assessment, from a form read before the first was saved, is refused.
    with pytest.raises(triage.AssessmentChanged):
        _save(
            staffed.second_officer,
            filed.case,
            ["independence"],
            staffed.body_id,
            read_version=triage.NO_ASSESSMENT,
        )
    db.session.rollback()
    assert _assessment(filed.case).categories == ["funding_change"]


@pytest.mark.skipif(ON_POSTGRES, reason="PostgreSQL locks the row: see the racing tests")
def test_on_sqlite_the_case_lock_keeps_other_writers_out(driver: Driver, staffed: Staffed) -> None:
    filed = driver.to("triage")
    db.session.commit()
    lock_case(db.session, filed.case)
    with db.engine.connect() as other:
        other.exec_driver_sql("PRAGMA busy_timeout = 50")
        with pytest.raises(OperationalError, match="database is locked"):
            other.execute(
                update(TriageRecord)
                .where(TriageRecord.case_id == filed.case.id)
                .values(version=TriageRecord.version + 1)
            )
            other.commit()
    db.session.commit()  # the lock ends with the transaction
    with db.engine.begin() as other:
        other.execute(
            update(TriageRecord)
            .where(TriageRecord.case_id == filed.case.id)
            .values(version=TriageRecord.version + 1)
        )


@contextmanager
def another_save_lands_before_the_write(case_id: int, officer_id: int) -> Iterator[None]:
    """Between this save's read of the assessment and its write, another officer's save
    commits on its own connection: the interleaving that SQLite's lack of row locks allows."""
    fired: list[bool] = []

    def land(session: Session, *_: Any) -> None:
        touched = [o for o in (*session.dirty, *session.new) if isinstance(o, TriageRecord)]
        if fired or not touched:
            return
        fired.append(True)
        with db.engine.begin() as other:
            other.execute(
                update(TriageRecord)
                .where(TriageRecord.case_id == case_id)
                .values(
                    categories=["equality"],
                    triaged_by_id=officer_id,
                    version=TriageRecord.version + 1,
                )
            )

    event.listen(db.session, "before_flush", land)
    try:
        yield
    finally:
        event.remove(db.session, "before_flush", land)
    assert fired, "the other save never landed"


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="on SQLite the case lock holds the database's write lock, so no other save can "
    "land in between (test_on_sqlite_the_case_lock_keeps_other_writers_out)",
)
def test_a_save_that_lands_between_read_and_write_still_refuses_the_later_one(
    driver: Driver, staffed: Staffed
) -> None:
    s = staffed
    filed = driver.to("triage")
    read = _assessment(filed.case).version
    db.session.commit()
    with (
        another_save_lands_before_the_write(filed.case.id, s.second_officer.id),
        pytest.raises(triage.AssessmentChanged),
    ):
        _save(s.officer, filed.case, ["independence"], s.body_id, read_version=read)
    db.session.rollback()
    row = _assessment(filed.case)
    assert (row.version, row.categories, row.triaged_by_id) == (
        read + 1,
        ["equality"],
        s.second_officer.id,
    )


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="SQLite serialises whole-database writes and has no row locks to race on; "
    "set TEST_DATABASE_URL to a PostgreSQL database to run this",
)
def test_two_officers_saving_at_the_same_moment_leave_one_answer(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    s = staffed
    filed = driver.to("triage")
    read = _assessment(filed.case).version
    db.session.commit()
    case_id, body_id = filed.case.id, s.body_id  # read here: threads load nothing through it
    barrier = threading.Barrier(2)
    results: dict[int, str] = {}

    def run(officer_id: int, categories: list[str]) -> None:
        with app.app_context():
            officer = db.session.get(StaffUser, officer_id)
            case = db.session.get(Case, case_id)
            assert officer is not None and case is not None
            barrier.wait()
            try:
                _save(officer, case, categories, body_id, read_version=read)
            except ServiceError as exc:
                db.session.rollback()
                results[officer_id] = str(exc)
            else:
                db.session.commit()
                results[officer_id] = "saved"
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=run, args=(s.officer.id, ["independence"])),
        threading.Thread(target=run, args=(s.second_officer.id, ["consultation"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results.values())[-1] == "saved"
    assert list(results.values()).count("saved") == 1
    winner = next(i for i, r in results.items() if r == "saved")
    loser = next(r for r in results.values() if r != "saved")
    assert "Another case officer saved this assessment" in loser
    row = _assessment(filed.case)
    assert row.version == read + 1 and row.triaged_by_id == winner


# The case page ----------------------------------------------------------------------------


def _page_version(page: str) -> str:
    found = READ_VERSION.search(page)
    assert found, "the assessment form carries no version"
    return found.group(1)


def _post_assessment(
    browser: Browser, reference: str, version: str, follow: bool = False, **data: Any
) -> Any:
    return browser.post(
        f"/casework/cases/{reference}/triage",
        data={"read_version": version, **data},
        follow_redirects=follow,
    )


def test_the_second_officer_sees_the_first_answer_and_keeps_their_own(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    s = staffed
    filed = driver.to("triage")
    reference = filed.reference
    first = staff_browser(app, s.logins["officer"])
    second = staff_browser(app, s.logins["second_officer"])
    first_read = _page_version(first.get(f"/casework/cases/{reference}").text)
    second_read = _page_version(second.get(f"/casework/cases/{reference}").text)
    assert first_read == second_read

    saved = _post_assessment(
        first,
        reference,
        first_read,
        categories=["independence", "funding_change"],
        respondent_body_id=s.body_id,
    )
    assert saved.status_code == 302
    entries = _triage_entries(reference)

    late = _post_assessment(
        second,
        reference,
        second_read,
        categories=["consultation"],
        respondent_body_id=s.other_body_id,
        language="pl",
    )
    assert late.status_code == 302 and late.headers["Location"].endswith("#triage")
    assert _triage_entries(reference) == entries

    page = second.get(f"/casework/cases/{reference}").text
    assert "<title>Error: Case" in page
    assert "Another case officer saved this assessment first" in page
    assert "nothing was changed" in page
    # Their saved answer, by name and date ...
    conflict = page[page.index('id="triage-conflict"') : page.index("Your answer is in the form")]
    assert s.officer.name in conflict
    assert "funding change, independence" in conflict
    assert "Marsh County Council" in conflict
    # ... and this officer's own, as typed, in the form.
    form = page[page.index('action="/casework/cases/' + reference + '/triage"') :]
    assert re.search(r'value="consultation"\s*checked', form)
    assert not re.search(r'value="independence"\s*checked', form)
    assert re.search(r'value="pl"', form)
    assert re.search(rf'<option selected value="{s.other_body_id}"', form) or re.search(
        rf'<option value="{s.other_body_id}" selected', form
    )
    # Nothing changed; and the typed answer is shown once, not on every later visit.
    row = _assessment(filed.case)
    assert row.categories == ["funding_change", "independence"] and row.language is None
    assert _triage_entries(reference) == entries
    later = second.get(f"/casework/cases/{reference}").text
    assert "saved this assessment first" not in later
    assert re.search(r'value="independence"\s*checked', later)

    # Saving again, having seen theirs, is a deliberate choice and goes through.
    again = _post_assessment(
        second,
        reference,
        _page_version(page),
        categories=["consultation"],
        respondent_body_id=s.body_id,
        language="pl",
    )
    assert again.status_code == 302
    row = _assessment(filed.case)
    assert (row.categories, row.language, row.triaged_by_id) == (
        ["consultation"],
        "pl",
        s.second_officer.id,
    )


def test_an_assessment_form_without_a_version_is_refused_with_a_message(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("triage")
    officer = staff_browser(app, staffed.logins["officer"])
    before = _assessment(filed.case).version
    for version in ("", "two", "-1", "9" * 40):
        response = officer.post(
            f"/casework/cases/{filed.reference}/triage",
            data={
                "read_version": version,
                "categories": ["consultation"],
                "respondent_body_id": staffed.body_id,
            },
            follow_redirects=True,
        )
        assert response.status_code == 200
        assert "The assessment form was out of date" in response.text
    row = _assessment(filed.case)
    assert row.version == before and row.categories == ["funding_change"]


def test_an_incomplete_assessment_is_shown_again_with_what_was_typed(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("triage")
    officer = staff_browser(app, staffed.logins["officer"])
    version = _page_version(officer.get(f"/casework/cases/{filed.reference}").text)
    response = _post_assessment(
        officer,
        filed.reference,
        version,
        follow=True,
        respondent_body_id=staffed.body_id,
        language="cy",
    )
    assert response.status_code == 200
    assert "<title>Error: Case" in response.text
    assert "Choose at least one breach category" in response.text
    assert 'value="cy"' in response.text
    assert _page_version(response.text) == version
    assert _assessment(filed.case).categories == ["funding_change"]


def test_a_refused_assessment_with_any_input_keeps_the_session_cookie_small(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    """What the officer typed is carried to the page in the session cookie: unknown
    categories, however many and however long, are not kept, so the cookie stays under
    what a browser accepts (about 4 KB) and the officer stays signed in."""
    filed = driver.to("triage")
    officer = staff_browser(app, staffed.logins["officer"])
    version = _page_version(officer.get(f"/casework/cases/{filed.reference}").text)
    rng = random.Random(8)  # text that does not compress, as a fuzzer sends
    unknown = ["".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(40)) for _ in range(30)]
    response = _post_assessment(
        officer,
        filed.reference,
        version,
        categories=["consultation", *unknown],
        respondent_body_id="not a number",
        language="\u00e9" * 40,
    )
    assert response.status_code == 302
    cookies = [v for k, v in response.headers.items() if k == "Set-Cookie"]
    assert cookies and all(len(cookie) < 4000 for cookie in cookies)
    page = officer.get(f"/casework/cases/{filed.reference}")
    assert page.status_code == 200 and "Sign out" in page.text
    assert "Choose the public body" in page.text  # the refusal is shown, with the form
    # What they ticked is ticked again (the saved assessment has funding_change only).
    assert re.search(r'value="consultation"[^>]*checked', page.text)
