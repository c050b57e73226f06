"""The complainant's portal: timeline and dates, sealed messages and documents, own acts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from io import BytesIO

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.cases import Case, CaseDocument, CaseEvent, CaseMessage
from mediation.models.staff import StaffUser
from mediation.services import complaints, workflow
from mediation.services.accounts import actor_for
from mediation.services.audit import Actor
from mediation.services.intake import attach_document
from mediation.services.intake_rules import Upload
from mediation.web.typed_text import paragraphs
from tests import seeded
from tests.conftest import AuthActions, StaffFactory, StaffLogin
from tests.intake.conftest import Clock, Receipt


def signed_in(client: FlaskClient, receipt: Receipt) -> None:
    response = client.post(
        "/my-complaint/sign-in",
        data={"reference": receipt.reference, "passphrase": receipt.passphrase},
    )
    assert response.status_code == 302


def the_case(app: Flask) -> Case:
    return db.session.execute(select(Case)).scalar_one()


def test_the_portal_shows_status_timeline_and_service_dates(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    receipt = journey("confidential")
    with app.app_context():
        case = the_case(app)
        case.submitted_on = date(2025, 4, 14)  # the week before Easter
        workflow.perform(db.session, case, "acknowledge", Actor.system("test"), role="case_officer")
        db.session.commit()
    signed_in(client, receipt)
    page = client.get("/my-complaint/").text
    assert receipt.reference in page
    assert "Acknowledged" in page
    assert "We acknowledged your complaint" in page and "You sent your complaint" in page
    # 5 working days from Monday 14 April 2025 skip Good Friday and Easter Monday.
    assert "23 April 2025" in page
    assert "Marsh County Council" in page and "Ending or changing funding" in page


def test_messages_are_sealed_and_shown_only_to_the_complainant(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    receipt = journey("anonymous")
    signed_in(client, receipt)
    response = client.post("/my-complaint/messages", data={"text": seeded.MESSAGE})
    assert response.status_code == 302
    assert seeded.MESSAGE in client.get("/my-complaint/").text
    with app.app_context():
        stored = db.session.execute(select(CaseMessage)).scalar_one()
        assert stored.audience == "complainant" and stored.author_kind == "complainant"
        assert seeded.MESSAGE.encode() not in (stored.body or b"")
    empty = client.post("/my-complaint/messages", data={"text": "  "})
    assert empty.status_code == 200 and "Enter your message" in empty.text


def test_a_message_written_as_the_session_idles_out_is_kept_to_send_after_sign_in(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt], clock: Clock
) -> None:
    receipt = journey("confidential")
    signed_in(client, receipt)
    clock.advance(minutes=31)
    assert client.get("/my-complaint/").status_code == 302  # idled out
    kept = client.post("/my-complaint/messages", data={"text": seeded.MESSAGE})
    assert kept.status_code == 200
    assert "Your session has ended" in kept.text and seeded.MESSAGE in kept.text
    resumed = client.post(
        "/my-complaint/sign-in",
        data={
            "reference": receipt.reference,
            "passphrase": receipt.passphrase,
            "resume": "message",
            "kept_text": seeded.MESSAGE,
        },
    )
    # Shown in the message box to check and send, not sent by signing in.
    assert resumed.status_code == 200
    assert "Check your message, then send it" in resumed.text
    box = re.search(r"<textarea[^>]*>(.*?)</textarea>", resumed.text, re.DOTALL)
    assert box is not None and seeded.MESSAGE in box[1]
    assert _messages_sent(app) == 0
    sent = client.post("/my-complaint/messages", data={"text": seeded.MESSAGE})
    assert sent.status_code == 302 and _messages_sent(app) == 1
    assert seeded.MESSAGE in client.get("/my-complaint/").text


def _messages_sent(app: Flask) -> int:
    with app.app_context():
        return len(db.session.execute(select(CaseMessage)).all())


def test_another_site_cannot_have_a_message_sent_by_the_next_sign_in(
    app: Flask, journey: Callable[..., Receipt]
) -> None:
    """A form on another site posts without the session cookie (SameSite=Strict) and so
    gets the "session ended" page with its text kept: signing in from there must not send
    that text in the complainant's name."""
    receipt = journey("confidential")
    planted = "We withdraw every complaint and thank the council for its patience."
    victim = app.test_client()
    ended = victim.post("/my-complaint/messages", data={"text": planted})
    assert "Your session has ended" in ended.text
    victim.post(
        "/my-complaint/sign-in",
        data={
            "reference": receipt.reference,
            "passphrase": receipt.passphrase,
            "resume": "message",
            "kept_text": planted,
        },
    )
    assert _messages_sent(app) == 0


def test_documents_can_be_added_and_downloaded_by_the_complainant(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    receipt = journey("anonymous")
    signed_in(client, receipt)
    response = client.post(
        "/my-complaint/documents",
        data={"files": [(BytesIO(b"minutes of the meeting"), "minutes.txt")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = client.get("/my-complaint/").text
    link = re.search(r'href="(/my-complaint/documents/\d+)"', page)
    assert link and "minutes.txt" in page
    download = client.get(link[1])
    assert download.data == b"minutes of the meeting"
    assert download.headers["Content-Disposition"].startswith("attachment")
    other = app.test_client()
    assert other.get(link[1]).status_code == 302  # signed out: to the sign-in page


def test_withdrawing_goes_through_the_workflow(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    receipt = journey("confidential")
    signed_in(client, receipt)
    assert "You cannot undo a withdrawal" in client.get("/my-complaint/withdraw").text
    refused = client.post("/my-complaint/withdraw", data={"text": "We settled it"})
    assert refused.status_code == 200 and "Confirm that you want to withdraw" in refused.text
    done = client.post("/my-complaint/withdraw", data={"text": "We settled it", "confirm": "y"})
    assert done.status_code == 302
    with app.app_context():
        assert the_case(app).state == "withdrawn"
        event = db.session.execute(select(CaseEvent)).scalar_one()
        assert event.action == "withdraw" and event.actor_role == "complainant"


def test_reporting_adverse_treatment_flags_the_case_urgent(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    receipt = journey("confidential")
    signed_in(client, receipt)
    response = client.post(
        "/my-complaint/adverse-treatment",
        data={"kind": "funding_delayed", "text": seeded.REPLY},
    )
    assert response.status_code == 302
    with app.app_context():
        case = the_case(app)
        assert case.urgent is True
        # The complainant's words reach the case officers sealed, never in the clear.
        message = db.session.execute(select(CaseMessage)).scalar_one()
        assert message.audience == "case_officer"
        assert seeded.REPLY.encode() not in (message.body or b"")
    assert "urgent" in client.get("/my-complaint/").text


def test_a_closure_can_be_contested(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    receipt = journey("anonymous")
    signed_in(client, receipt)
    assert "You cannot do this" in client.get("/my-complaint/contest-closure").text
    with app.app_context():
        case = the_case(app)
        case.state = "closed"
        db.session.commit()
    response = client.post("/my-complaint/contest-closure", data={"text": "It was not resolved"})
    assert response.status_code == 302
    with app.app_context():
        assert the_case(app).state == "closure_contested"


def test_openness_only_grows_and_the_page_says_it_cannot_be_undone(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    receipt = journey("anonymous")
    signed_in(client, receipt)
    page = client.get("/my-complaint/openness").text
    assert "This cannot be undone" in page
    missing = client.post("/my-complaint/openness", data={"level": "confidential", "confirm": "y"})
    assert missing.status_code == 200 and "Enter the name of your organisation" in missing.text
    response = client.post(
        "/my-complaint/openness",
        data={
            "level": "confidential",
            "confirm": "y",
            "about-organisation": seeded.IDENTITY["organisation"],
            "about-contact_name": seeded.IDENTITY["contact_name"],
            "about-email": seeded.IDENTITY["email"],
            "about-region": "north_west",
            "about-size_band": "micro",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        case = the_case(app)
        assert case.openness == "confidential" and case.identity is not None
        assert case.shared_identity is None
    client.post("/my-complaint/openness", data={"level": "open", "confirm": "y"})
    with app.app_context():
        case = the_case(app)
        assert case.openness == "open"
        assert case.shared_identity["organisation"] == seeded.IDENTITY["organisation"]
    assert "already open" in client.get("/my-complaint/openness").text
    page = client.get("/my-complaint/disclosures").text
    assert "you shared who you are with the public body" in page


def test_current_complainant_gives_the_case_and_the_derived_key(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    from mediation.web.complainant.session import current_complainant

    receipt = journey("anonymous")
    signed_in(client, receipt)
    cookie = client.get_cookie("cm_session")
    assert cookie is not None
    with app.test_request_context(
        "/my-complaint/", headers={"Cookie": f"cm_session={cookie.value}"}
    ):
        found = current_complainant()
        assert found is not None
        case, key = found
        assert case.reference == receipt.reference
        assert key.key_id == case.complainant_key_id
        assert complaints.complainant_case_key(case, key) is not None
    with app.test_request_context("/my-complaint/"):
        assert current_complainant() is None


def test_signing_out_forgets_the_key(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    from mediation.models.intake import ComplainantSession

    receipt = journey("anonymous")
    signed_in(client, receipt)
    client.post("/my-complaint/sign-out")
    assert client.get("/my-complaint/").status_code == 302
    with app.app_context():
        assert db.session.execute(select(ComplainantSession)).first() is None


TYPED = "Dear mediator,\r\nthe grant letter came late.\n\n\nWe said <b>no</b> & asked why.\n  "


def test_paragraphs_escape_every_line_before_adding_breaks() -> None:
    shown = str(paragraphs(TYPED))
    assert shown == (
        '<p class="body">Dear mediator,<br>\nthe grant letter came late.</p>\n'
        '<p class="body">We said &lt;b&gt;no&lt;/b&gt; &amp; asked why.</p>'
    )
    assert str(paragraphs("line\u2028next")) == '<p class="body">line<br>\nnext</p>'
    assert str(paragraphs("  \n\n ")) == "" and str(paragraphs(None)) == ""
    assert "<script>" not in str(paragraphs("<script>alert(1)</script>"))


def test_messages_keep_their_line_breaks_for_the_complainant_and_for_staff(
    app: Flask,
    client: FlaskClient,
    journey: Callable[..., Receipt],
    officer: StaffLogin,
) -> None:
    receipt = journey("confidential")
    signed_in(client, receipt)
    assert client.post("/my-complaint/messages", data={"text": TYPED}).status_code == 302
    with app.app_context():
        staff = db.session.get(StaffUser, officer.id)
        assert staff is not None
        reply = "Thank you.\nWe will write to the council.\n\nA case officer"
        complaints.add_message(db.session, the_case(app), actor_for(staff), reply)
        db.session.commit()
    expected = (
        '<p class="body">Dear mediator,<br>\nthe grant letter came late.</p>\n'
        '<p class="body">We said &lt;b&gt;no&lt;/b&gt; &amp; asked why.</p>'
    )
    page = client.get("/my-complaint/").text
    assert expected in page
    assert "Thank you.<br>\nWe will write to the council.</p>" in page
    assert "<b>no</b>" not in page

    staff_client = app.test_client()
    AuthActions(staff_client).sign_in(officer)
    case_page = staff_client.get(f"/casework/cases/{receipt.reference}")
    assert case_page.status_code == 200
    assert expected in case_page.text
    assert "<b>no</b>" not in case_page.text


def test_the_services_documents_reach_the_complainant_but_the_public_bodys_stay_with_it(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    """A public body sends its papers to the service ("Send a document to the service"),
    which may keep them for the mediator only; staff pass on what they choose."""
    receipt = journey("confidential")
    with app.app_context():
        case = the_case(app)
        attach_document(
            db.session, case, Upload("timetable.txt", b"joint meeting"), uploaded_by="mediator"
        )
        attach_document(
            db.session, case, Upload("council-notes.txt", b"internal"), uploaded_by="respondent"
        )
        db.session.commit()
        ids = {
            d.uploaded_by: d.id
            for d in db.session.execute(select(CaseDocument)).scalars()
            if d.uploaded_by != "complainant"
        }
    signed_in(client, receipt)
    page = client.get("/my-complaint/").text
    assert "timetable.txt" in page and "council-notes.txt" not in page
    shared = client.get(f"/my-complaint/documents/{ids['mediator']}")
    assert shared.status_code == 200 and shared.data == b"joint meeting"
    kept = client.get(f"/my-complaint/documents/{ids['respondent']}")
    assert kept.status_code == 404 and "There is no such document" in kept.text
    assert b"internal" not in kept.data


@pytest.mark.parametrize(
    "name", ["Grant letter \u2013 March.txt", "日本の助成金.txt", "minutes; draft, v2.txt"]
)
def test_a_document_of_any_name_downloads_with_a_header_a_server_can_send(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt], name: str
) -> None:
    """HTTP headers are Latin-1: a name in another script (or with an en dash, as word
    processors write) goes as RFC 6266 `filename*`, with a plain fallback."""
    from urllib.parse import unquote

    receipt = journey("anonymous")
    signed_in(client, receipt)
    client.post(
        "/my-complaint/documents",
        data={"files": [(BytesIO(b"minutes"), name)]},
        content_type="multipart/form-data",
    )
    link = re.search(r'href="(/my-complaint/documents/\d+)"', client.get("/my-complaint/").text)
    assert link
    download = client.get(link[1])
    assert download.status_code == 200 and download.data == b"minutes"
    header = download.headers["Content-Disposition"]
    header.encode("latin-1")  # what a WSGI server must be able to send
    assert header.startswith('attachment; filename="')
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == name
    assert header.count('"') == 2  # the fallback's own quotes only


def test_a_complainant_adds_documents_only_up_to_the_cases_limits(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    """Anyone can file anonymously and then upload: a case takes only so many documents
    and bytes from its complainant, and a refused upload says that nothing was added."""
    app.config.update(MAX_CASE_DOCUMENTS=3, MAX_CASE_DOCUMENT_BYTES=64 * 1024)
    receipt = journey("anonymous")
    signed_in(client, receipt)

    def upload(*files: tuple[bytes, str]):  # type: ignore[no-untyped-def]
        return client.post(
            "/my-complaint/documents",
            data={"files": [(BytesIO(content), name) for content, name in files]},
            content_type="multipart/form-data",
        )

    def held() -> int:
        with app.app_context():
            query = select(CaseDocument).where(CaseDocument.uploaded_by == "complainant")
            return len(db.session.execute(query).all())

    before = held()  # those filed with the complaint count too
    assert upload((b"a" * 1000, "one.txt")).status_code == 302
    too_big = upload((b"b" * 1000, "two.txt"), (b"c" * (70 * 1024), "three.txt"))
    assert "the most a case can hold" in too_big.text
    assert "None of the files you chose was added" in too_big.text
    assert held() == before + 1
    while held() < 3:
        assert upload((b"d" * 100, "more.txt")).status_code == 302
    refused = upload((b"e" * 100, "last.txt"))
    assert "the most it can take" in refused.text
    assert held() == 3


def test_uploads_to_a_case_from_one_connection_are_limited(
    throttled_app: Flask, make_staff: StaffFactory
) -> None:

    throttled_app.config["UPLOAD_RATE_LIMIT"] = "2 per hour"
    make_staff("case_officer")
    with throttled_app.app_context():
        filed = seeded.file_seeded("anonymous")
        db.session.commit()
        reference, passphrase = filed.reference, filed.passphrase
    client = throttled_app.test_client()
    client.post("/my-complaint/sign-in", data={"reference": reference, "passphrase": passphrase})
    statuses = [
        client.post(
            "/my-complaint/documents",
            data={"files": [(BytesIO(b"minutes"), f"n{n}.txt")]},
            content_type="multipart/form-data",
        ).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]
