"""The three openness journeys end to end through the web form, and what the case holds."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from mediation.extensions import db
from mediation.models.cases import Case, CaseDocument
from mediation.models.intake import CaseBreach, Draft
from mediation.models.statistics import StatisticalRecord
from mediation.services import complaints, keyring, statistical_records
from tests import seeded
from tests.conftest import TEST_PASSWORD, StaffLogin, user_row
from tests.document_files import pdf_with_author
from tests.intake.conftest import Receipt


@pytest.mark.parametrize("openness", ["anonymous", "confidential", "open"])
def test_each_openness_journey_files_one_sealed_case(
    app: Flask,
    client: FlaskClient,
    journey: Callable[..., Receipt],
    officer: StaffLogin,
    openness: str,
) -> None:
    receipt = journey(openness)
    assert receipt.reference.startswith("CM-")
    assert len(receipt.passphrase.split()) == 7
    with app.app_context():
        case = db.session.execute(select(Case)).scalar_one()
        assert case.reference == receipt.reference
        assert case.openness == openness
        assert case.state == "submitted"
        assert (case.identity is None) == (openness == "anonymous")
        assert (case.shared_identity is not None) == (openness == "open")
        # The complainant's key opens the narrative: every free-text answer, as JSON.
        _, mine = complaints.complainant_keypair(db.session, receipt.reference, receipt.passphrase)
        narrative = json.loads(
            complaints.read_narrative(case, complaints.complainant_case_key(case, mine))
        )
        assert narrative["what_happened"] == seeded.NARRATIVE
        assert narrative["breaches"][1]["reference"] == "Marsh Local Compact clause 4.2"
        breaches = db.session.execute(select(CaseBreach).order_by(CaseBreach.position)).scalars()
        assert [b.category for b in breaches] == ["funding_change", "local_clause"]
        # The statistical record has the dimensions only a non-anonymous complaint gives.
        user = user_row(app, officer.id)
        officer_key = keyring.unlock(db.session, user, TEST_PASSWORD)
        assert officer_key is not None
        key = statistical_records.current_statistics_key(db.session)
        opened = statistical_records.open_record(
            db.session,
            case,
            db.session.execute(select(StatisticalRecord)).scalar_one(),
            statistical_records.open_statistics_key(db.session, officer_key, key),
        )
        assert opened["categories"] == ["funding_change", "local_clause"]
        assert opened["body_type"] == "local_authority"
        expected_region = None if openness == "anonymous" else "north_west"
        assert opened["region"] == expected_region
        # The draft is gone once the receipt was shown.
        assert db.session.execute(select(Draft)).first() is None


def test_documents_are_sealed_with_the_complaint(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    from io import BytesIO

    from tests.intake.conftest import fill_in, page_answers, submit

    pages = page_answers("confidential", body_id)
    documents = next(i for i, (step, _) in enumerate(pages) if step == "documents")
    fill_in(client, pages[:documents])
    response = client.post(
        "/my-complaint/new/documents",
        data={
            "action": "upload",
            "files": [
                # A real PDF: a complainant's PDF is cleaned before it is sealed.
                (BytesIO(pdf_with_author(seeded.MESSAGE)), "grant-letter.pdf"),
                (BytesIO(b"notes"), "notes.txt"),
            ],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "grant-letter.pdf" in response.text and "notes.txt" in response.text
    fill_in(client, pages[documents:])
    receipt = submit(client)
    with app.app_context():
        case = db.session.execute(select(Case)).scalar_one()
        rows = list(db.session.execute(select(CaseDocument)).scalars())
        assert len(rows) == 2
        assert all(seeded.MESSAGE.encode() not in (r.content or b"") for r in rows)
        assert all(b"grant-letter" not in (r.name or b"") for r in rows)
        _, mine = complaints.complainant_keypair(db.session, receipt.reference, receipt.passphrase)
        from mediation.services import complainant_portal

        case_key = complaints.complainant_case_key(case, mine)
        name, content = complainant_portal.read_document(db.session, case, case_key, rows[0].id)
        assert name == "grant-letter.pdf"
        assert seeded.MESSAGE.encode() in content
