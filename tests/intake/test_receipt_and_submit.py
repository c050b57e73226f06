"""The receipt is shown once; a double submit files one case; an acknowledged one is durable."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.intake import Draft
from mediation.models.time import utcnow
from mediation.services import intake
from mediation.services.drafts import DraftTicket
from tests.conftest import StaffLogin
from tests.intake.conftest import Receipt, fill_in, page_answers, read_receipt


def test_the_receipt_is_shown_once_and_never_again(
    client: FlaskClient, journey: Callable[..., Receipt]
) -> None:
    receipt = journey("confidential")
    again = client.get("/my-complaint/receipt")
    assert again.status_code == 200
    assert "This page can no longer be shown" in again.text
    assert receipt.passphrase not in again.text and receipt.reference not in again.text


def test_the_receipt_and_passphrase_are_never_in_a_url_or_cached(
    client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    fill_in(client, page_answers("anonymous", body_id))
    sent = client.post("/my-complaint/new/check")
    assert sent.headers["Location"].endswith("/my-complaint/receipt")
    shown = client.get("/my-complaint/receipt")
    receipt = read_receipt(shown.text)
    assert shown.headers["Cache-Control"] == "no-store"
    assert receipt.passphrase.split()[0] not in sent.headers["Location"]
    assert "Set-Cookie" in shown.headers  # the draft cookie is cleared with the receipt


def test_the_printable_receipt_carries_no_identity(
    client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    from tests import seeded

    fill_in(client, page_answers("open", body_id))
    client.post("/my-complaint/new/check")
    page = client.get("/my-complaint/receipt").text
    for secret in seeded.SEEDED_STRINGS:
        assert secret not in page


def test_a_double_submit_files_one_case_and_shows_its_receipt(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    fill_in(client, page_answers("confidential", body_id))
    first = client.post("/my-complaint/new/check")
    second = client.post("/my-complaint/new/check")
    assert first.status_code == second.status_code == 303
    assert second.headers["Location"].endswith("/my-complaint/receipt")
    read_receipt(client.get("/my-complaint/receipt").text)
    with app.app_context():
        assert db.session.execute(select(func.count(Case.id))).scalar_one() == 1


def test_a_draft_is_claimed_once_even_by_two_sessions_at_once(
    app: Flask, officer: StaffLogin, body_id: int
) -> None:
    """Two workers handle the same draft: the conditional claim lets only one file it."""
    client = app.test_client()
    fill_in(client, page_answers("anonymous", body_id))
    cookie = client.get_cookie("cm_draft", path="/my-complaint")
    assert cookie is not None
    ticket = DraftTicket.from_cookie(cookie.value)
    with app.app_context():
        first = db.session
        intake.submit_draft(first, ticket, utcnow(), max_document_bytes=1024)
        # A second worker's session, before the first commits, would block on the row and
        # then find the draft taken; after the commit it finds it taken straight away.
        first.commit()
        try:
            intake.submit_draft(db.session, ticket, utcnow(), max_document_bytes=1024)
        except intake.AlreadySubmitted:
            db.session.rollback()
        else:  # pragma: no cover - the behaviour under test failed
            raise AssertionError("the draft was filed twice")
        assert db.session.execute(select(func.count(Case.id))).scalar_one() == 1
        draft = db.session.execute(select(Draft)).scalar_one()
        assert draft.answers is None and draft.receipt is not None  # only the receipt is left


def test_a_failed_submission_files_nothing_and_keeps_the_draft(
    app: Flask, client: FlaskClient, body_id: int
) -> None:
    """No custodian yet: the service refuses, and the complainant's answers stay."""
    fill_in(client, page_answers("anonymous", body_id))
    response = client.post("/my-complaint/new/check")
    assert response.status_code == 200
    assert "no case officer with a key" in response.text
    with app.app_context():
        assert db.session.execute(select(func.count(Case.id))).scalar_one() == 0
        assert db.session.execute(select(Draft.status)).scalar_one() == "open"
    assert "Reinstate the grant" in client.get("/my-complaint/new/check").text


def test_two_clicks_racing_on_two_workers_file_one_case(
    app: Flask, officer: StaffLogin, body_id: int
) -> None:
    """Two requests for the same draft at the same moment, each with its own connection."""
    import threading

    first = app.test_client()
    fill_in(first, page_answers("confidential", body_id))
    cookie = first.get_cookie("cm_draft", path="/my-complaint")
    assert cookie is not None
    second = app.test_client()
    second.set_cookie("cm_draft", cookie.value, path="/my-complaint")
    start = threading.Barrier(2)
    statuses: list[int] = []

    def click(client: FlaskClient) -> None:
        start.wait()
        statuses.append(client.post("/my-complaint/new/check").status_code)

    threads = [threading.Thread(target=click, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [303, 303]
    with app.app_context():
        assert db.session.execute(select(func.count(Case.id))).scalar_one() == 1
    read_receipt(first.get("/my-complaint/receipt").text)
