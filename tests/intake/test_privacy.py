"""No identity, passphrase or narrative in any log line, or in any response to anyone else."""

from __future__ import annotations

import logging
import re
from io import BytesIO

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.cases import Case, CaseDocument
from tests import seeded
from tests.conftest import AuthActions, StaffFactory, StaffLogin
from tests.intake.conftest import Receipt, fill_in, page_answers, submit
from tests.intake.test_api import EXAMPLE

SECRETS = seeded.SEEDED_STRINGS


def file_everything(client: FlaskClient, body_id: int) -> list[Receipt]:
    """A confidential and an anonymous complaint through the form, one through the API."""
    receipts = []
    for openness in ("confidential", "anonymous"):
        pages = page_answers(openness, body_id)
        fill_in(client, pages)
        client.post(
            "/my-complaint/new/documents",
            data={"action": "upload", "files": [(BytesIO(seeded.MESSAGE.encode()), "a.txt")]},
            content_type="multipart/form-data",
        )
        receipts.append(submit(client))
    response = client.post("/api/v1/complaints", json=EXAMPLE)
    receipts.append(Receipt(response.json["reference"], response.json["passphrase"]))
    # The complainant uses the portal: sign-in (right and wrong), a message, a report.
    for receipt in receipts:
        client.post(
            "/my-complaint/sign-in",
            data={"reference": receipt.reference, "passphrase": "wrong " + receipt.passphrase},
        )
        client.post(
            "/my-complaint/sign-in",
            data={"reference": receipt.reference, "passphrase": receipt.passphrase},
        )
        client.post("/my-complaint/messages", data={"text": seeded.MESSAGE})
        client.post("/my-complaint/adverse-treatment", data={"kind": "other", "text": seeded.REPLY})
        client.post("/my-complaint/sign-out")
    return receipts


def test_nothing_secret_reaches_the_log_even_at_debug(
    app: Flask,
    client: FlaskClient,
    officer: StaffLogin,
    body_id: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # statements and parameters
    receipts = file_everything(client, body_id)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "INSERT INTO cases" in text  # the SQL log really was on
    for secret in SECRETS:
        assert secret not in text, secret[:6]
    for receipt in receipts:
        assert receipt.passphrase not in text
        assert receipt.passphrase.split()[0] + " " + receipt.passphrase.split()[1] not in text


def _fill_rule(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values.get(m.group(1), "1"), rule)


def _sweep(app: Flask, client: FlaskClient, values: dict[str, str]) -> str:
    """Every GET page of the app, with the case's own ids filled in, as this client sees it."""
    seen: list[str] = []
    broken: list[str] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.endpoint == "static":
            continue
        try:
            response = client.get(_fill_rule(rule.rule, values))
        except Exception as exc:  # another area's unfinished page is not a leak
            broken.append(f"{rule.rule}: {type(exc).__name__}")
        else:
            seen.append(response.get_data(as_text=True))
            response.close()
    return "\n".join(seen)


def test_no_one_but_the_complainant_and_entitled_staff_sees_the_complaint(
    app: Flask,
    client: FlaskClient,
    officer: StaffLogin,
    body_id: int,
    make_staff: StaffFactory,
) -> None:
    file_everything(client, body_id)
    with app.app_context():
        case = db.session.execute(select(Case).order_by(Case.id)).scalars().first()
        assert case is not None
        document = db.session.execute(select(CaseDocument)).scalars().first()
        values = {
            "case_id": str(case.id),
            "reference": case.reference,
            "document_id": str(document.id if document else 1),
            "id": str(case.id),
        }
    app.config["PROPAGATE_EXCEPTIONS"] = False
    # A visitor, a different complainant, and every staff role that is not entitled.
    visitors: list[FlaskClient] = [app.test_client()]
    other = app.test_client()
    fill_in(other, page_answers("anonymous", body_id))
    other_receipt = submit(other)
    other.post(
        "/my-complaint/sign-in",
        data={"reference": other_receipt.reference, "passphrase": other_receipt.passphrase},
    )
    visitors.append(other)
    for role in ("respondent", "mediator", "analyst", "admin"):
        staff = app.test_client()
        AuthActions(staff).sign_in(
            make_staff(role, body_id=body_id if role == "respondent" else None)
        )
        visitors.append(staff)
    for visitor in visitors:
        seen = _sweep(app, visitor, values)
        for secret in SECRETS:
            assert secret not in seen, secret[:6]
