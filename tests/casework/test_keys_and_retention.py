"""The casework's sealed fields follow the case keys: re-sealed at rotation, readable only
with keys, and destroyed with the keys at the end of retention."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text

from mediation.extensions import db
from mediation.models.casework import (
    CaseNote,
    DisclosureStatement,
    MediatorOffer,
    RespondentMessage,
)
from mediation.services import (
    accounts,
    complaints,
    disclosure_statements,
    mediation_work,
    routing,
)
from mediation.services.audit import Actor
from mediation.services.vault_admin import purge_expired, rotate
from tests import seeded
from tests.casework.conftest import Driver


def test_rotation_reseals_notes_drafts_and_a_pending_offer(driver: Driver) -> None:
    s = driver.s
    filed = driver.to("mediation_offered")
    case = filed.case
    mediation_work.add_note(db.session, s.officer, case, seeded.MESSAGE)
    disclosure_statements.save_draft(db.session, s.officer, case, "A second version")
    db.session.commit()
    driver.propose(case)
    rotate(db.session, s.officer, s.officer_key, "x25519")
    db.session.commit()

    key = complaints.staff_case_key(db.session, s.officer, s.officer_key, case)
    assert [t for _, t in mediation_work.read_notes(db.session, case, key)] == [seeded.MESSAGE]
    draft = disclosure_statements.working(db.session, case)
    assert draft is not None
    assert disclosure_statements.read_draft(case, draft, key) == "A second version"
    # The mediator's pending offer now holds the new case key, which opens the case.
    offer = db.session.query(MediatorOffer).one()
    pending = routing.open_pending_key(case, offer, s.mediator_key)
    assert pending.key_id == case.case_key_id
    db.session.commit()  # each step commits, as the request doing it would
    driver.mediator_confirms(case)
    mediator_view = complaints.staff_case_key(db.session, s.mediator, s.mediator_key, case)
    assert complaints.read_narrative(case, mediator_view) == seeded.NARRATIVE


def test_rotation_cancels_an_offer_whose_mediator_has_a_new_key(driver: Driver) -> None:
    """A reset without the recovery key gives the mediator a key nobody vouched for: the
    pending offer is not moved to it (the case officer offers the case again)."""
    s = driver.s
    filed = driver.to("mediation_offered")
    driver.propose(filed.case)
    token = accounts.reset_access(db.session, Actor.system("test"), s.mediator.id)
    accounts.complete_setup(db.session, token, "a brand new long password")
    db.session.commit()
    rotate(db.session, s.officer, s.officer_key, "x25519")
    db.session.commit()
    offer = db.session.query(MediatorOffer).one()
    assert offer.status == "cancelled" and offer.pending_case_key is None


def test_nothing_of_the_case_survives_its_retention(driver: Driver) -> None:
    s = driver.s
    filed = driver.to("closed")
    case = filed.case
    mediation_work.add_note(db.session, s.officer, case, seeded.MESSAGE)
    db.session.add(
        RespondentMessage(
            case_id=case.id,
            kind="reply",
            audience="service",
            author_kind="respondent",
            sent_on=date.today(),
            body="The public body's reply",
        )
    )
    case.closed_on = date.today() - timedelta(days=800)
    db.session.commit()
    assert case.reference in purge_expired(db.session)
    db.session.commit()
    assert all(n.body is None for n in db.session.query(CaseNote))
    assert all(m.body is None for m in db.session.query(RespondentMessage))
    assert all(
        st.approved_text is None and st.draft is None
        for st in db.session.query(DisclosureStatement)
    )
    dump = "\n".join(
        str(row)
        for table in ("case_notes", "respondent_messages", "disclosure_statements")
        for row in db.session.execute(text(f"SELECT * FROM {table}"))
    )
    for secret in (seeded.MESSAGE, "The public body's reply", "cut its grant"):
        assert secret not in dump
