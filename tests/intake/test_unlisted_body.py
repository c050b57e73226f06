"""A public body the complainant names that is not on our list: kept only sealed, filed
against a placeholder no one can search for or be invited to, confirmed at triage."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from mediation.domain.statistics_periods import Period
from mediation.extensions import db
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case
from mediation.models.panel import MediatorProfile
from mediation.services import intake_bodies, keyring, respondents, routing, triage
from mediation.services.errors import InvalidInput
from mediation.services.statistics_inputs import collect_inputs, unlock_statistics
from tests.conftest import TEST_PASSWORD, AuthActions, StaffFactory, StaffLogin
from tests.intake.conftest import Receipt, fill_in, page_answers, submit
from tests.services.test_vault_cases import dump_database

# What a complainant might type: a small body, and the officer they dealt with.
TYPED_NAME = "Little Odcombe Parish Council (clerk Mrs Wenlock-Ashgrove)"
TYPED_FRAGMENTS = ("Odcombe", "Wenlock-Ashgrove", "Ashgrove")


def file_unlisted(
    client: FlaskClient, body_id: int, *, openness: str = "anonymous", name: str = TYPED_NAME
) -> Receipt:
    pages = page_answers(openness, body_id)
    pages[1] = (
        "body",
        {"body_id": "not_listed", "body_name": name, "body_type": "local_authority"},
    )
    fill_in(client, pages[:1])
    # The complainant searches for it first, by a word of its name, and finds nothing.
    searched = client.post(
        "/my-complaint/new/body", data={"q": "Odcombe", "action": "search", **pages[1][1]}
    )
    assert searched.status_code == 303
    assert "We found no body" in client.get(searched.headers["Location"]).text
    fill_in(client, pages[1:])
    return submit(client)


def the_case(reference: str) -> Case:
    return db.session.execute(select(Case).where(Case.reference == reference)).scalar_one()


def officer_key(officer: StaffLogin):  # type: ignore[no-untyped-def]
    from mediation.models.staff import StaffUser

    user = db.session.get(StaffUser, officer.id)
    assert user is not None
    key = keyring.unlock(db.session, user, TEST_PASSWORD)
    assert key is not None
    return user, key


def test_the_typed_name_is_in_no_table_of_a_database_dump(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    receipt = file_unlisted(client, body_id)
    with app.app_context():
        case = the_case(receipt.reference)
        held = db.session.get(RespondentBody, case.respondent_body_id)
        assert intake_bodies.is_placeholder(held)
        assert held is not None and held.body_type == "local_authority"
        dump = dump_database()
    assert len(dump) > 1000
    for fragment in TYPED_FRAGMENTS:
        for encoding in ("utf-8", "utf-16-le"):
            assert fragment.encode(encoding) not in dump, fragment
        assert fragment.lower().encode() not in dump.lower(), fragment


def test_unlisted_bodies_of_a_type_share_one_placeholder_that_no_search_offers(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    first = file_unlisted(client, body_id)
    second = file_unlisted(app.test_client(), body_id, name="Nether Stowey Town Council")
    with app.app_context():
        cases = [the_case(first.reference), the_case(second.reference)]
        assert cases[0].respondent_body_id == cases[1].respondent_body_id
        placeholder = db.session.get(RespondentBody, cases[0].respondent_body_id)
        assert placeholder is not None and placeholder.confirmed is False
        from mediation.services import intake

        for text in ("unlisted", "awaiting triage", "local authority", "Stowey"):
            assert intake.search_bodies(db.session, text) == [], text
        # Nor can the API or a crafted form file a complaint against it by number.
        from mediation.services.intake_rules import IntakeInvalid

        with pytest.raises(IntakeInvalid):
            intake._resolve_body(
                db.session,
                intake.parse_complaint(
                    {
                        "openness": "anonymous",
                        "respondent_body": {"id": placeholder.id},
                        "breaches": [{"category": "funding_change"}],
                        "what_happened": "x",
                        "outcome_sought": "y",
                    },
                    max_document_bytes=0,
                ),
            )


def test_the_case_officer_reads_the_name_and_adds_the_real_body_at_triage(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    receipt = file_unlisted(client, body_id)
    staff = app.test_client()
    AuthActions(staff).sign_in(officer)
    page = staff.get(f"/casework/cases/{receipt.reference}").text
    assert "Little Odcombe Parish Council (clerk Mrs Wenlock-Ashgrove)" in page
    assert 'id="named-body"' in page
    # The triage list offers bodies on the list only, never the placeholder.
    with app.app_context():
        case = the_case(receipt.reference)
        placeholder_id = case.respondent_body_id
    assert f'<option value="{placeholder_id}"' not in page
    assert f'<option value="{body_id}"' in page
    # A bad entry gets a message and changes nothing.
    refused = staff.post(
        f"/casework/cases/{receipt.reference}/bodies",
        data={"name": "Little Odcombe Parish Council", "body_type": "nonsense", "region": ""},
        follow_redirects=True,
    )
    assert refused.status_code == 200 and "Not a valid choice" not in refused.text
    assert "Choose" in refused.text
    added = staff.post(
        f"/casework/cases/{receipt.reference}/bodies",
        data={
            "name": "Little Odcombe Parish Council",
            "body_type": "local_authority",
            "region": "south_west",
        },
    )
    assert added.status_code == 302
    assert "Odcombe" not in added.headers["Location"]
    with app.app_context():
        real = db.session.execute(
            select(RespondentBody).where(RespondentBody.name == "Little Odcombe Parish Council")
        ).scalar_one()
        assert real.confirmed is True and real.region == "south_west"
        user, _ = officer_key(officer)
        case = the_case(receipt.reference)
        # Confirming the placeholder is refused by name; the real body is confirmed.
        with pytest.raises(InvalidInput, match="not on our list"):
            triage.record_triage(
                db.session,
                user,
                case,
                categories=["funding_change"],
                respondent_body_id=placeholder_id,
            )
        db.session.rollback()
        case = the_case(receipt.reference)
        triage.record_triage(
            db.session, user, case, categories=["funding_change"], respondent_body_id=real.id
        )
        db.session.commit()
        case = the_case(receipt.reference)
        assert case.respondent_body_id == real.id
        real_id = real.id
    # The page now shows the real body, and no longer the form to add one.
    page = staff.get(f"/casework/cases/{receipt.reference}").text
    assert "Little Odcombe Parish Council (confirmed)" in page
    assert 'id="named-body"' not in page and 'id="add-body"' not in page
    assert f'<option selected value="{real_id}"' in page
    # The complainant's search now finds it, as any body on the list.
    other = app.test_client()
    other.post("/my-complaint/new/openness", data={"openness": "anonymous"})
    found = other.post("/my-complaint/new/body", data={"q": "odcombe", "action": "search"})
    assert "Little Odcombe Parish Council" in other.get(found.headers["Location"]).text


def test_adding_a_body_already_listed_adds_nothing(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    receipt = file_unlisted(client, body_id)
    with app.app_context():
        user, _ = officer_key(officer)
        case = the_case(receipt.reference)
        count = len(db.session.execute(select(RespondentBody.id)).all())
        again = intake_bodies.add_body(
            db.session,
            user,
            case,
            name="  marsh   county council ",
            body_type="local_authority",
            region="north_west",
        )
        assert again.added is False and again.body.id == body_id
        for name in ("", "   ", "\x00", "x" * 201, "Unlisted public body (Other), awaiting triage"):
            with pytest.raises(InvalidInput):
                intake_bodies.add_body(
                    db.session, user, case, name=name, body_type="other", region="london"
                )
        with pytest.raises(InvalidInput):
            intake_bodies.add_body(
                db.session, user, case, name="Somewhere", body_type="other", region="mars"
            )
        assert len(db.session.execute(select(RespondentBody.id)).all()) == count


def test_no_one_can_be_invited_for_a_placeholder_so_no_body_sees_its_cases(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int, make_staff: StaffFactory
) -> None:
    receipt = file_unlisted(client, body_id)
    staff = app.test_client()
    AuthActions(staff).sign_in(officer)
    page = staff.get(f"/casework/cases/{receipt.reference}").text
    assert f"/casework/cases/{receipt.reference}/invite" not in page
    with app.app_context():
        user, _ = officer_key(officer)
        case = the_case(receipt.reference)
        with pytest.raises(InvalidInput, match="Confirm the public body"):
            respondents.invite(
                db.session, user, case, email="clerk@odcombe.example.org", name="A Clerk"
            )
        db.session.rollback()
    # A respondent of a listed body sees none of the unlisted cases.
    listed = make_staff("respondent", body_id=body_id)
    with app.app_context():
        from mediation.models.staff import StaffUser

        person = db.session.get(StaffUser, listed.id)
        assert person is not None
        assert respondents.cases_for(db.session, person).rows == []


def test_routing_and_statistics_work_before_and_after_the_real_body_is_confirmed(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int, make_staff: StaffFactory
) -> None:
    receipt = file_unlisted(client, body_id)
    mediator = make_staff("mediator", name="Mediator Conflicted")
    with app.app_context():
        user, key = officer_key(officer)
        real = intake_bodies.add_body(
            db.session,
            user,
            the_case(receipt.reference),
            name="Little Odcombe Parish Council",
            body_type="local_authority",
            region="south_west",
        ).body
        db.session.add(
            MediatorProfile(
                user_id=mediator.id,
                specialisms=["funding_change"],
                regions=["south_west"],
                languages=["en"],
                capacity=3,
                accreditation_body="Institute of Community Mediators",
                accredited_on=date(2018, 1, 1),
                cpd_last_date=date.today(),
                cpd_hours=40,
                leave=[],
                interests=[{"body_id": real.id, "organisation": None, "text": "Trustee"}],
            )
        )
        db.session.commit()
        case = the_case(receipt.reference)
        placeholder_id = case.respondent_body_id
        # Statistics: the placeholder gives the body type the complainant chose.
        today = date.today()
        rows = collect_inputs(db.session, unlock_statistics(db.session, key), Period(today.year))
        (row,) = [r for r in rows.rows if r[2] == placeholder_id]
        assert row[3] == "local_authority"
        # Routing copes with the placeholder (no conflict can be declared against it) ...
        assert routing.rank_for_case(db.session, user, key, case).proposes(mediator.id)
        db.session.commit()  # the ranking's audit entry, as the routing page commits it
        # ... and, once triage confirms the real body, the declared interest rules them out.
        triage.record_triage(
            db.session, user, case, categories=["funding_change"], respondent_body_id=real.id
        )
        db.session.commit()
        case = the_case(receipt.reference)
        ranked = routing.rank_for_case(db.session, user, key, case)
        assert not ranked.proposes(mediator.id)
        assert any(
            "declared an interest in the public body" in reason
            for excluded in ranked.excluded
            for reason in excluded.reasons
        )
        rows = collect_inputs(db.session, unlock_statistics(db.session, key), Period(today.year))
        (row,) = [r for r in rows.rows if r[2] == real.id]
        assert row[3] == "local_authority"
        db.session.rollback()


def test_odd_entries_in_the_form_to_add_a_body_get_a_message_not_an_error(
    app: Flask, client: FlaskClient, officer: StaffLogin, body_id: int
) -> None:
    from tests.fuzz.forms import NASTY

    receipt = file_unlisted(client, body_id)
    staff = app.test_client()
    AuthActions(staff).sign_in(officer)
    address = f"/casework/cases/{receipt.reference}/bodies"
    with app.app_context():
        count = len(db.session.execute(select(RespondentBody.id)).all())
    for value in [*NASTY, "x" * 25_000, "   "]:
        for data in (
            {"name": value, "body_type": "other", "region": "london"},
            {"name": "Valid Name", "body_type": value, "region": value},
        ):
            response = staff.post(address, data=data)
            assert response.status_code == 302, (data, response.status_code)
            assert value not in response.headers["Location"]
            shown = staff.get(response.headers["Location"])
            assert shown.status_code == 200
            assert 'class="notification notification--' in shown.text, data
    with app.app_context():
        # Only names that could be a body's were added (a few of NASTY's could be).
        added = len(db.session.execute(select(RespondentBody.id)).all()) - count
        assert added <= len(NASTY)
    unknown = staff.post(
        "/casework/cases/CM-0000-0000/bodies",
        data={"name": "A Body", "body_type": "other", "region": "london"},
    )
    assert unknown.status_code == 404


def test_two_first_complaints_of_a_type_at_once_share_one_placeholder(
    app: Flask, officer: StaffLogin
) -> None:
    """The second insert waits on the first's unique name, fails, and uses its row."""
    import threading

    found: list[object] = []

    def second() -> None:
        with app.app_context():
            try:
                found.append(intake_bodies.placeholder_for(db.session, "nhs_body").id)
                db.session.commit()
            except Exception as exc:  # reported below, not swallowed
                db.session.rollback()
                found.append(exc)
            finally:
                db.session.remove()

    with app.app_context():
        first = intake_bodies.placeholder_for(db.session, "nhs_body")
        db.session.flush()
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(timeout=0.5)  # the racer now waits on the first's uncommitted row
        db.session.commit()
        first_id = first.id
        db.session.remove()
    racer.join(timeout=30)
    assert not racer.is_alive()
    assert found == [first_id]
    with app.app_context():
        rows = db.session.execute(
            select(RespondentBody).where(RespondentBody.body_type == "nhs_body")
        ).scalars()
        assert [intake_bodies.is_placeholder(row) for row in rows] == [True]
