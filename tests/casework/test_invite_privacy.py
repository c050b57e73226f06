"""The public body learns of a complaint only through a statement the complainant approved:
no one from it can be invited before (by page or command line), and the invitation says
nothing of a case. Also the body's portal shows what was typed with its line breaks, and
lists its cases in one statement however many there are."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select

from mediation.extensions import db
from mediation.models.audit import AuditEntry
from mediation.models.staff import StaffUser
from mediation.services import complaints, disclosure_statements, mediation_work, respondents
from mediation.services.errors import InvalidInput
from tests.casework.conftest import Driver, Staffed, staff_browser
from tests.casework.test_cli import cases
from tests.casework.test_notifications import Inbox, body, inbox  # noqa: F401
from tests.conftest import counted

INVITEE = "jo.grants@marsh.example.gov.uk"


def awaiting_approval(driver: Driver) -> complaints.Filed:
    """Offered mediation, the statement sent to the complainant and not yet approved."""
    filed = driver.to("triage")
    driver.officer_act(filed.case, "offer_mediation")
    disclosure_statements.save_draft(db.session, driver.s.officer, filed.case, "A statement.")
    disclosure_statements.send_for_approval(db.session, driver.s.officer, filed.case)
    db.session.commit()
    return filed


def changes_requested(driver: Driver) -> complaints.Filed:
    filed = awaiting_approval(driver)
    row = disclosure_statements.awaiting(db.session, filed.case)
    assert row is not None
    disclosure_statements.complainant_decides(
        db.session,
        filed.case,
        driver.complainant_key(filed),
        row.id,
        approve=False,
        shown_digest=disclosure_statements.digest("A statement."),
        change_request="Leave out the dates.",
    )
    db.session.commit()
    return filed


BEFORE_APPROVAL: dict[str, Callable[[Driver], complaints.Filed]] = {
    "submitted": lambda d: d.to("submitted"),
    "triage": lambda d: d.to("triage"),
    "on_hold": lambda d: d.to("on_hold"),
    "awaiting_approval": awaiting_approval,
    "changes_requested": changes_requested,
}


def counts() -> tuple[int, int]:
    """Staff accounts, and accounts created by the audit log's word."""
    db.session.expire_all()
    users = db.session.execute(select(func.count(StaffUser.id))).scalar_one()
    created = db.session.execute(
        select(func.count(AuditEntry.seq)).where(AuditEntry.action == "user.created")
    ).scalar_one()
    return users, created


@pytest.mark.parametrize("stage", sorted(BEFORE_APPROVAL))
def test_no_one_from_the_body_is_invited_before_the_complainant_approves_a_statement(
    app: Flask,
    inbox: Inbox,  # noqa: F811
    driver: Driver,
    staffed: Staffed,
    stage: str,
) -> None:
    filed = BEFORE_APPROVAL[stage](driver)
    ref = filed.reference
    inbox.clear()
    before = counts()

    with pytest.raises(InvalidInput, match="approved a disclosure statement"):
        respondents.invite(db.session, staffed.officer, filed.case, email=INVITEE, name="Jo")
    db.session.rollback()
    assert counts() == before

    officer = staff_browser(app, staffed.logins["officer"])
    page = officer.get(f"/casework/cases/{ref}").text
    assert f"/casework/cases/{ref}/invite" not in page
    assert "can be invited once the complainant approves" in page
    form = officer.get(f"/casework/cases/{ref}/invite")
    assert form.status_code == 302 and form.location.endswith(f"/casework/cases/{ref}#public-body")
    posted = officer.post(
        f"/casework/cases/{ref}/invite", data={"name": "Jo Grants", "email": INVITEE}
    )
    assert posted.status_code == 302
    shown = officer.get(f"/casework/cases/{ref}").text
    assert "must not learn of the complaint" in shown and "Nothing was changed" in shown

    code, out = cases(app, staffed, "invite", ref, "--email", INVITEE, "--name", "Jo Grants")
    assert code == 1 and "approved a disclosure statement" in out and "/set-up/" not in out

    assert counts() == before
    assert inbox.to(INVITEE) == []
    assert db.session.execute(select(StaffUser).where(StaffUser.email == INVITEE)).first() is None


def test_once_approved_the_body_is_invited_in_words_that_reveal_no_case(
    app: Flask,
    inbox: Inbox,  # noqa: F811
    driver: Driver,
    staffed: Staffed,
) -> None:
    filed = driver.to("informal_resolution")  # the statement is approved on the way
    ref = filed.reference
    officer = staff_browser(app, staffed.logins["officer"])
    assert f"/casework/cases/{ref}/invite" in officer.get(f"/casework/cases/{ref}").text
    assert officer.get(f"/casework/cases/{ref}/invite").status_code == 200
    page = officer.post(
        f"/casework/cases/{ref}/invite", data={"name": "Jo Grants", "email": INVITEE}
    )
    assert "Invitation sent" in page.text
    (message,) = inbox.to(INVITEE)
    text = f"{message['Subject']}\n{body(message)}"
    assert "/set-up/" in text
    assert ref not in text
    assert "case" not in text.lower().replace("details of a case", "")
    assert "respond" not in text.lower()
    code, out = cases(
        app, staffed, "invite", ref, "--email", "sam@marsh.example.gov.uk", "--name", "Sam"
    )
    assert code == 0 and "/set-up/" in out


def test_what_was_typed_keeps_its_line_breaks_for_the_body_and_in_notes(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = driver.to("in_mediation")
    ref = filed.reference
    mediation_work.send_message(
        db.session,
        staffed.mediator,
        filed.case,
        "respondent",
        "Dear Council,\nPlease send the letters.\n\n<b>Thank you</b>",
    )
    mediation_work.add_note(db.session, staffed.mediator, filed.case, "Call on Monday\nThen write")
    db.session.commit()
    respondent = staff_browser(app, staffed.logins["respondent"]).get(f"/respondent/cases/{ref}")
    assert "Dear Council,<br>\nPlease send the letters.</p>" in respondent.text
    assert '<p class="body">&lt;b&gt;Thank you&lt;/b&gt;</p>' in respondent.text
    officer = staff_browser(app, staffed.logins["officer"]).get(f"/casework/cases/{ref}")
    assert "Call on Monday<br>\nThen write" in officer.text


def test_the_body_s_case_list_is_one_statement_with_each_reply_clock(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = [driver.to(state) for state in ("mediation_offered", "closed", "informal_resolution")]
    driver.to("triage")  # not approved: never listed
    expected = {
        f.reference: respondents._reply_due(db.session, db.session.merge(f.case)) for f in filed
    }
    assert any(expected.values())
    db.session.expire_all()
    person = db.session.get(StaffUser, staffed.respondent.id)
    assert person is not None
    with counted(db.engine) as seen:
        listed = respondents.cases_for(db.session, person).rows
    assert len(seen) == 1, seen
    assert {s.reference: s.reply_due_on for s in listed} == expected
    assert all(s.needs_answer == (s.reply_due_on is not None) for s in listed)
    assert len(listed) == 3


def test_the_body_s_case_list_puts_cases_awaiting_a_reply_first_a_page_at_a_time(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    filed = [driver.to(state) for state in ("closed", "informal_resolution", "closed")]
    due = {f.reference: respondents._reply_due(db.session, db.session.merge(f.case)) for f in filed}
    awaiting = [reference for reference, on in due.items() if on is not None]
    assert awaiting and len(awaiting) < len(filed)
    db.session.expire_all()
    person = db.session.get(StaffUser, staffed.respondent.id)
    assert person is not None

    first = respondents.cases_for(db.session, person, page=1, page_size=2)
    second = respondents.cases_for(db.session, person, page=2, page_size=2)
    past_the_end = respondents.cases_for(db.session, person, page=9, page_size=2)

    assert (first.total, first.pages, first.first_number, first.last_number) == (3, 2, 1, 2)
    listed = [c.reference for c in first.rows + second.rows]
    assert sorted(listed) == sorted(due)
    assert set(listed[: len(awaiting)]) == set(awaiting)  # those awaiting a reply first,
    shown_due = [due[r] for r in listed[: len(awaiting)]]
    assert shown_due == sorted(shown_due)  # the soonest due first
    assert (second.page, second.first_number, second.last_number) == (2, 3, 3)
    assert past_the_end.page == 2 and past_the_end.rows == second.rows

    page = staff_browser(app, staffed.logins["respondent"]).get("/respondent/").text
    assert "3 cases against" in page
    assert page.index(awaiting[0]) < min(page.index(r) for r in due if r not in awaiting)
