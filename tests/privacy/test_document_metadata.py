"""A complainant's documents lose their metadata before they are sealed, on every way in
(the intake form, the portal, the JSON API, the CLI); the complainant is told what was
removed; a file that cannot be cleaned is kept only with their explicit consent; and
neither a document's name nor what was removed from it reaches the public body."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pikepdf
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from PIL import Image
from sqlalchemy import select

from mediation.domain.document_cleaning import BEFORE_UPLOAD_NOTICE, KEEP_AS_SENT_LABEL
from mediation.extensions import db
from mediation.models.cases import Case, CaseDocument
from mediation.models.intake import DraftDocument
from mediation.services import complainant_portal, complaints
from mediation.services.drafts import DraftTicket
from mediation.vault import encrypt_symmetric
from mediation.web.complainant.session import DRAFT_COOKIE
from tests import seeded
from tests.casework.conftest import Driver, Staffed, staff_browser
from tests.casework.test_respondent_privacy import crawl
from tests.conftest import StaffLogin
from tests.document_files import (
    AUTHOR,
    MARKERS,
    docx_with_author,
    email_file,
    jpeg_with_gps,
    odt_with_author,
    pdf_with_author,
)
from tests.intake.conftest import Receipt, fill_in, page_answers, submit
from tests.intake.test_api import EXAMPLE

API = "/api/v1"
FORM = "/my-complaint/new/documents"


def opened_documents(app: Flask, reference: str, passphrase: str) -> dict[str, bytes]:
    """The case's documents as sealed, opened with the complainant's key, by name."""
    with app.app_context():
        case = db.session.execute(select(Case).where(Case.reference == reference)).scalar_one()
        _, key = complaints.complainant_keypair(db.session, reference, passphrase)
        case_key = complaints.complainant_case_key(case, key)
        opened = {}
        for entry in complainant_portal.documents(db.session, case, case_key):
            name, content = complainant_portal.read_document(db.session, case, case_key, entry.id)
            opened[name] = content
        stored = db.session.execute(select(CaseDocument.content)).scalars().all()
        for sealed in stored:  # sealed: no marker readable in the database either
            assert all(m.encode() not in (sealed or b"") for m in MARKERS)
        return opened


def assert_clean(name: str, content: bytes) -> None:
    """No marker anywhere in the file, nor in any part of it once unpacked."""
    for marker in MARKERS:
        assert marker.encode() not in content, (name, marker)
    if name.endswith((".docx", ".odt")):
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            for part in package.namelist():
                for marker in MARKERS:
                    assert marker.encode() not in package.read(part), (name, part, marker)
    elif name.endswith(".pdf"):
        with pikepdf.open(io.BytesIO(content)) as pdf:
            assert "/Info" not in pdf.trailer and "/Metadata" not in pdf.Root
    elif name.endswith(".jpg"):
        picture = Image.open(io.BytesIO(content))
        assert not picture.getexif() and "comment" not in picture.info


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


def upload_form(client: FlaskClient, files: list[tuple[bytes, str]], **extra: str) -> Any:
    return client.post(
        FORM,
        data={"action": "upload", "files": [(BytesIO(c), n) for c, n in files], **extra},
        content_type="multipart/form-data",
    )


def test_the_intake_form_seals_files_without_their_metadata_and_says_what_was_removed(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    pages = page_answers("confidential", body_id)
    documents = next(i for i, (step, _) in enumerate(pages) if step == "documents")
    fill_in(client, pages[:documents])
    # Before uploading: what will be removed, and the consent for a file that cannot be.
    before = text_of(client.get(FORM).text)
    assert BEFORE_UPLOAD_NOTICE in before and KEEP_AS_SENT_LABEL in before
    files = [
        (jpeg_with_gps(), "photo.jpg"),
        (pdf_with_author(), "letter.pdf"),
        (docx_with_author(), "minutes.docx"),
        (odt_with_author(), "notes.odt"),
    ]
    after = text_of(upload_form(client, files).text)
    # After: file by file, what was removed.
    assert (
        "Removed: camera make, camera model, software, author, GPS position, "
        "camera serial number, date and time taken and comment." in after
    )
    assert "Removed: author, the program that made it and XMP metadata." in after
    assert "company or organisation name" in after and "custom properties" in after
    fill_in(client, pages[documents:])
    receipt = submit(client)
    opened = opened_documents(app, receipt.reference, receipt.passphrase)
    assert set(opened) == {name for _, name in files}
    for name, content in opened.items():
        assert_clean(name, content)
    assert b"Minutes of the meeting" in opened["minutes.docx"] or (
        b"Minutes of the meeting"
        in zipfile.ZipFile(io.BytesIO(opened["minutes.docx"])).read("word/document.xml")
    )


def test_the_intake_form_refuses_a_file_it_cannot_clean_without_consent_and_keeps_it_with(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    pages = page_answers("anonymous", body_id)
    documents = next(i for i, (step, _) in enumerate(pages) if step == "documents")
    fill_in(client, pages[:documents])
    refused = text_of(upload_form(client, [(email_file(), "reply.eml")]).text)
    assert "We could not remove the hidden details from “reply.eml”" in refused
    assert f"tick “{KEEP_AS_SENT_LABEL}”" in refused
    assert "Your documents" not in refused  # nothing was added
    # Nothing typed is lost: every earlier answer is still in the draft.
    assert seeded.NARRATIVE in client.get("/my-complaint/new/check").text
    kept = text_of(upload_form(client, [(email_file(), "reply.eml")], keep_as_sent="y").text)
    assert "Kept as you sent it, with whatever details it carries" in kept
    # The consent is for that upload only: the box is not ticked for the next.
    assert re.search(r'<input[^>]*name="keep_as_sent"[^>]*checked', kept) is None
    fill_in(client, pages[documents:])
    receipt = submit(client)
    opened = opened_documents(app, receipt.reference, receipt.passphrase)
    assert opened == {"reply.eml": email_file()}


def signed_in(client: FlaskClient, receipt: Receipt) -> None:
    response = client.post(
        "/my-complaint/sign-in",
        data={"reference": receipt.reference, "passphrase": receipt.passphrase},
    )
    assert response.status_code == 302


def test_the_portal_cleans_an_upload_and_lists_what_was_removed_from_each_file(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    receipt = journey("anonymous")
    signed_in(client, receipt)
    portal = text_of(client.get("/my-complaint/").text)
    assert BEFORE_UPLOAD_NOTICE in portal and KEEP_AS_SENT_LABEL in portal
    response = client.post(
        "/my-complaint/documents",
        data={"files": [(BytesIO(jpeg_with_gps()), "photo.jpg")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    portal = text_of(client.get("/my-complaint/").text)
    assert "photo.jpg" in portal and "GPS position" in portal
    assert "camera serial number" in portal
    opened = opened_documents(app, receipt.reference, receipt.passphrase)
    assert_clean("photo.jpg", opened["photo.jpg"])


def test_the_portal_keeps_a_file_it_cannot_clean_only_with_consent(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    receipt = journey("anonymous")
    signed_in(client, receipt)
    refused = client.post(
        "/my-complaint/documents",
        data={"files": [(BytesIO(b"%PDF-1.4 damaged"), "scan.pdf")]},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 200
    assert "We could not remove the hidden details from “scan.pdf”" in text_of(refused.text)
    assert opened_documents(app, receipt.reference, receipt.passphrase) == {}
    kept = client.post(
        "/my-complaint/documents",
        data={"files": [(BytesIO(b"%PDF-1.4 damaged"), "scan.pdf")], "keep_as_sent": "y"},
        content_type="multipart/form-data",
    )
    assert kept.status_code == 302
    assert "Kept as you sent it" in text_of(client.get("/my-complaint/").text)
    assert opened_documents(app, receipt.reference, receipt.passphrase) == {
        "scan.pdf": b"%PDF-1.4 damaged"
    }


def encoded(content: bytes) -> str:
    return base64.b64encode(content).decode()


def test_the_api_cleans_files_filed_with_a_complaint_and_added_later(
    app: Flask, client: FlaskClient, officer: StaffLogin
) -> None:
    body = dict(
        EXAMPLE, documents=[{"name": "minutes.docx", "content_base64": encoded(docx_with_author())}]
    )
    filed = client.post(f"{API}/complaints", json=body)
    assert filed.status_code == 201, filed.json
    assert filed.json["documents"][0]["name"] == "minutes.docx"
    assert "author" in filed.json["documents"][0]["removed"]
    reference, passphrase = filed.json["reference"], filed.json["passphrase"]
    token = client.post(
        f"{API}/complainant/sessions", json={"reference": reference, "passphrase": passphrase}
    ).json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    added = client.post(
        f"{API}/complainant/documents",
        json={"documents": [{"name": "photo.jpg", "content_base64": encoded(jpeg_with_gps())}]},
        headers=auth,
    )
    assert added.status_code == 201, added.json
    assert {"GPS position", "camera serial number"} <= set(added.json["documents"][0]["removed"])
    listed = client.get(f"{API}/complainant/complaint", headers=auth).json["documents"]
    assert {d["name"]: d["cleaning"]["kept_as_sent"] for d in listed} == {
        "minutes.docx": False,
        "photo.jpg": False,
    }
    assert all("Removed:" in d["cleaning"]["note"] for d in listed)
    opened = opened_documents(app, reference, passphrase)
    for name, content in opened.items():
        assert_clean(name, content)


def test_the_api_refuses_a_file_it_cannot_clean_unless_keep_as_sent_is_true(
    app: Flask, client: FlaskClient, officer: StaffLogin
) -> None:
    mail = {"name": "reply.eml", "content_base64": encoded(email_file())}
    refused = client.post(f"{API}/complaints", json=dict(EXAMPLE, documents=[mail]))
    assert refused.status_code == 422
    assert '"keep_as_sent": true' in refused.json["errors"]["documents[0].keep_as_sent"]
    wrong = client.post(
        f"{API}/complaints", json=dict(EXAMPLE, documents=[dict(mail, keep_as_sent="yes")])
    )
    assert wrong.json["errors"]["documents[0].keep_as_sent"] == "Must be true or false."
    with app.app_context():
        assert db.session.execute(select(Case)).first() is None
    filed = client.post(
        f"{API}/complaints", json=dict(EXAMPLE, documents=[dict(mail, keep_as_sent=True)])
    )
    assert filed.status_code == 201
    assert filed.json["documents"][0]["kept_as_sent"] is True
    opened = opened_documents(app, filed.json["reference"], filed.json["passphrase"])
    assert opened == {"reply.eml": email_file()}


def test_the_cli_cleans_the_files_it_files(
    app: Flask, runner: FlaskCliRunner, officer: StaffLogin, tmp_path: Path
) -> None:
    source = tmp_path / "complaint.json"
    body = dict(
        EXAMPLE, documents=[{"name": "letter.pdf", "content_base64": encoded(pdf_with_author())}]
    )
    source.write_text(json.dumps(body), encoding="utf-8")
    result = runner.invoke(args=["complaints", "file", str(source)])
    assert result.exit_code == 0, result.output
    assert "Document 1: Removed: author" in result.output
    lines = dict(line.split(":", 1) for line in result.output.splitlines() if ":" in line)
    opened = opened_documents(app, lines["Reference"].strip(), lines["Passphrase"].strip())
    assert_clean("letter.pdf", opened["letter.pdf"])


def test_the_public_body_sees_neither_a_documents_name_nor_what_was_removed_but_staff_do(
    app: Flask, staffed: Staffed, driver: Driver
) -> None:
    filed = driver.file("confidential")
    complainant_portal.add_document(
        db.session,
        filed.case,
        "Ollerenshaw-photo.jpg",
        jpeg_with_gps(),
        limits=complainant_portal.CaseDocumentLimits(10**7, 50, 10**9),
    )
    db.session.commit()
    for step in driver.path("in_mediation", filed):
        step()
    db.session.commit()
    browser = staff_browser(app, staffed.logins["respondent"])
    pages = crawl(browser, ["/respondent/"])
    assert f"/respondent/cases/{filed.reference}" in pages
    for path, page in pages.items():
        for secret in ("Ollerenshaw-photo", "GPS position", "camera serial", AUTHOR, "Removed:"):
            assert secret not in page, (path, secret)
    # The service's staff, who hold the case key, see both.
    officer_page = text_of(
        staff_browser(app, staffed.logins["officer"]).get(f"/casework/cases/{filed.reference}").text
    )
    assert "Ollerenshaw-photo.jpg" in officer_page and "GPS position" in officer_page


def test_a_file_added_to_a_draft_before_files_were_cleaned_is_cleaned_when_filed(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    pages = page_answers("anonymous", body_id)
    documents = next(i for i, (step, _) in enumerate(pages) if step == "documents")
    fill_in(client, pages[:documents])
    upload_form(client, [(jpeg_with_gps(), "photo.jpg")])
    with app.app_context():
        # As a draft from before the upgrade holds it: the file as sent, and no note.
        row = db.session.execute(select(DraftDocument)).scalar_one()
        cookie = client.get_cookie(DRAFT_COOKIE, path="/my-complaint")
        assert cookie is not None
        ticket = DraftTicket.from_cookie(cookie.value)
        assert ticket is not None
        row.sealed_content = encrypt_symmetric(
            jpeg_with_gps(), ticket.key, f"draft:{row.draft_id}:document:{row.id}:content"
        )
        row.sealed_cleaning = None
        db.session.commit()
    fill_in(client, pages[documents:])
    receipt = submit(client)
    opened = opened_documents(app, receipt.reference, receipt.passphrase)
    assert_clean("photo.jpg", opened["photo.jpg"])
