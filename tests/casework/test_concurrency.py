"""Two case officers offering one case to a mediator at the same moment: exactly one offer
is made, and the other officer is told why nothing happened (PostgreSQL row locks)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import func, select

from mediation.extensions import db
from mediation.models.cases import Case, CaseEvent
from mediation.models.casework import MediatorOffer
from mediation.models.panel import MediatorProfile
from mediation.models.staff import StaffUser
from mediation.services import routing
from mediation.services.errors import ServiceError
from mediation.vault import KeyPair
from tests.casework.conftest import Driver, Staffed
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="SQLite serialises whole-database writes and has no row locks to race on; "
    "set TEST_DATABASE_URL to a PostgreSQL database to run this",
)


@dataclass
class Outcome:
    ok: bool = False
    message: str = ""


def offer_at_once(
    app: Flask, reference: str, attempts: list[tuple[int, KeyPair, int]]
) -> list[Outcome]:
    """Each (officer id, officer key, mediator id) offers the case from its own connection,
    released together by a barrier; each commits or rolls back as the web view does."""
    barrier = threading.Barrier(len(attempts))
    results = [Outcome() for _ in attempts]

    def run(index: int, officer_id: int, key: KeyPair, mediator_id: int) -> None:
        with app.app_context():
            officer = db.session.get(StaffUser, officer_id)
            case = db.session.execute(select(Case).where(Case.reference == reference)).scalar_one()
            assert officer is not None and case.state == "mediation_offered"
            barrier.wait()
            try:
                routing.propose(
                    db.session,
                    officer,
                    key,
                    case,
                    mediator_id=mediator_id,
                    summary="A grant cut; North West.",
                    expected_state="mediation_offered",
                )
            except ServiceError as exc:
                db.session.rollback()
                results[index] = Outcome(False, str(exc))
            else:
                db.session.commit()
                results[index] = Outcome(True)
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=run, args=(i, *attempt)) for i, attempt in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_officers_offering_one_case_leave_exactly_one_offer(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    s = driver.s
    profile = db.session.execute(
        select(MediatorProfile).where(MediatorProfile.user_id == s.other_mediator.id)
    ).scalar_one()
    profile.regions = ["north_west"]
    db.session.commit()
    filed = driver.to("mediation_offered")
    db.session.commit()

    results = offer_at_once(
        app,
        filed.reference,
        [
            (s.officer.id, s.officer_key, s.mediator.id),
            (s.second_officer.id, s.second_key, s.other_mediator.id),
        ],
    )

    assert sorted(r.ok for r in results) == [False, True]
    refused = next(r for r in results if not r.ok)
    assert "Someone else changed this case" in refused.message
    assert "Nothing was changed" in refused.message
    db.session.expire_all()
    offers = (
        db.session.execute(select(MediatorOffer).where(MediatorOffer.case_id == filed.case.id))
        .scalars()
        .all()
    )
    assert len(offers) == 1
    appointed = db.session.execute(
        select(func.count()).where(
            CaseEvent.case_id == filed.case.id, CaseEvent.action == "appoint_mediator"
        )
    ).scalar_one()
    assert appointed == 1
    case = db.session.get(Case, filed.case.id)
    assert case is not None and case.state == "mediator_appointed"


def test_without_the_expected_state_the_second_is_still_refused_by_the_table(
    app: Flask, driver: Driver, staffed: Staffed
) -> None:
    """The lock alone is enough: the second officer's action finds the case moved on."""
    s = driver.s
    filed = driver.to("mediation_offered")
    db.session.commit()
    # Read here: the threads must not load anything through the test's own session.
    case_id, mediator_id = filed.case.id, s.mediator.id
    barrier = threading.Barrier(2)
    messages: list[str] = []

    def run(officer_id: int, key: KeyPair) -> None:
        with app.app_context():
            officer = db.session.get(StaffUser, officer_id)
            case = db.session.get(Case, case_id)
            assert officer is not None and case is not None
            barrier.wait()
            try:
                routing.propose(
                    db.session, officer, key, case, mediator_id=mediator_id, summary="Summary"
                )
                db.session.commit()
                messages.append("ok")
            except ServiceError as exc:
                db.session.rollback()
                messages.append(str(exc))
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=run, args=(s.officer.id, s.officer_key)),
        threading.Thread(target=run, args=(s.second_officer.id, s.second_key)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(messages)[-1] == "ok"
    assert messages.count("ok") == 1
    assert any("while the case is mediator appointed" in m for m in messages)
