"""Casework fixtures: a staffed service (officers, a panel, a public body and its staff)
and a driver that takes a real case to any workflow state through the services."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.extensions import db
from mediation.models.cases import Case
from mediation.models.panel import MediatorProfile
from mediation.models.staff import StaffUser
from mediation.services import (
    case_keys,
    complaints,
    disclosure_statements,
    keyring,
    mediation_work,
    outcomes,
    respondents,
    routing,
    triage,
)
from mediation.services.audit import Actor
from mediation.services.workflow import perform
from mediation.vault import KeyPair
from tests import seeded
from tests.conftest import TEST_PASSWORD, StaffFactory

STATEMENT = (
    "The complainant says the council cut its grant without the notice the Compact asks for."
)


def unlocked(user_id: int) -> tuple[StaffUser, KeyPair]:
    user = db.session.get(StaffUser, user_id)
    assert user is not None
    key = keyring.unlock(db.session, user, TEST_PASSWORD)
    assert key is not None
    return user, key


@dataclass
class Staffed:
    """The people of a small service, with their unlocked keys."""

    officer: StaffUser
    officer_key: KeyPair
    second_officer: StaffUser
    second_key: KeyPair
    mediator: StaffUser
    mediator_key: KeyPair
    other_mediator: StaffUser
    other_key: KeyPair
    respondent: StaffUser
    other_respondent: StaffUser
    body_id: int
    other_body_id: int
    logins: dict[str, Any] = field(default_factory=dict)


def add_profile(user: StaffUser, **values: Any) -> MediatorProfile:
    profile = MediatorProfile(
        user_id=user.id,
        specialisms=values.get("specialisms", ["funding_change", "funding_process"]),
        regions=values.get("regions", ["north_west"]),
        languages=values.get("languages", ["en"]),
        capacity=values.get("capacity", 3),
        accreditation_body="Institute of Community Mediators",
        accredited_on=date(2018, 1, 1),
        cpd_last_date=date(2026, 6, 1),
        cpd_hours=values.get("cpd_hours", 10),
        leave=values.get("leave", []),
        interests=values.get("interests", []),
    )
    db.session.add(profile)
    return profile


@pytest.fixture
def staffed(app: Flask, make_staff: StaffFactory) -> Iterator[Staffed]:
    officer = make_staff("case_officer")
    second = make_staff("case_officer")
    mediator = make_staff("mediator", name="Mediator Able")
    other = make_staff("mediator", name="Mediator Baker")
    with app.app_context():
        body_id = make_staff.body("Marsh County Council")
        other_body_id = make_staff.body("Fenwick District Council")
        db.session.commit()
    respondent = make_staff("respondent", body_id=body_id)
    other_respondent = make_staff("respondent", body_id=other_body_id)
    with app.app_context():
        pairs = [unlocked(i) for i in (officer.id, second.id, mediator.id, other.id)]
        add_profile(pairs[2][0])
        add_profile(pairs[3][0], regions=["london"], specialisms=["consultation"])
        db.session.commit()
        yield Staffed(
            *pairs[0],
            *pairs[1],
            *pairs[2],
            *pairs[3],
            respondent=db.session.get(StaffUser, respondent.id),  # type: ignore[arg-type]
            other_respondent=db.session.get(StaffUser, other_respondent.id),  # type: ignore[arg-type]
            body_id=body_id,
            other_body_id=other_body_id,
            logins={
                "officer": officer,
                "second_officer": second,
                "mediator": mediator,
                "other_mediator": other,
                "respondent": respondent,
                "other_respondent": other_respondent,
            },
        )


class Driver:
    """Takes a filed case through the workflow by the same services the web layer calls."""

    def __init__(self, staffed: Staffed) -> None:
        self.s = staffed

    def file(
        self,
        openness: str = "confidential",
        identity: dict[str, Any] | None = None,
        narrative: str = seeded.NARRATIVE,
    ) -> complaints.Filed:
        if openness != "anonymous" and identity is None:
            identity = dict(seeded.IDENTITY)
        filed = complaints.file_complaint(
            db.session,
            openness=openness,
            narrative=narrative,
            identity=identity if openness != "anonymous" else None,
            respondent_body_id=self.s.body_id,
        )
        db.session.commit()
        return filed

    def officer_act(self, case: Case, action: str, **fields: str) -> None:
        perform(
            db.session,
            case,
            action,
            Actor("staff", "case_officer:test", self.s.officer.id),
            role="case_officer",
            fields=fields,
        )
        db.session.commit()

    def complainant_key(self, filed: complaints.Filed) -> KeyPair:
        _, key = complaints.complainant_keypair(db.session, filed.reference, filed.passphrase)
        return complaints.complainant_case_key(filed.case, key)

    def triaged(self, case: Case) -> None:
        triage.record_triage(
            db.session,
            self.s.officer,
            case,
            categories=["funding_change"],
            respondent_body_id=self.s.body_id,
        )
        db.session.commit()

    def send_statement(self, filed: complaints.Filed, text: str = STATEMENT) -> None:
        """A case officer drafts the statement and sends it to the complainant."""
        disclosure_statements.save_draft(db.session, self.s.officer, filed.case, text)
        disclosure_statements.send_for_approval(db.session, self.s.officer, filed.case)
        db.session.commit()

    def complainant_approves(self, filed: complaints.Filed, text: str = STATEMENT) -> None:
        """The complainant approves the statement waiting for them (`text`, as shown)."""
        row = disclosure_statements.awaiting(db.session, filed.case)
        assert row is not None
        disclosure_statements.complainant_decides(
            db.session,
            filed.case,
            self.complainant_key(filed),
            row.id,
            approve=True,
            shown_digest=disclosure_statements.digest(text),
        )
        db.session.commit()

    def approve_statement(self, filed: complaints.Filed, text: str = STATEMENT) -> None:
        self.send_statement(filed, text)
        self.complainant_approves(filed, text)

    def respondent_agrees(self, case: Case) -> None:
        respondents.answer_mediation(db.session, self.s.respondent, case.reference, agree=True)
        db.session.commit()

    def propose(self, case: Case) -> None:
        routing.propose(
            db.session,
            self.s.officer,
            self.s.officer_key,
            case,
            mediator_id=self.s.mediator.id,
            summary="A funding change without notice; a local authority; North West.",
        )
        db.session.commit()

    def mediator_confirms(self, case: Case) -> None:
        routing.accept(db.session, self.s.mediator, case)
        db.session.commit()
        routing.declare_no_conflict(db.session, self.s.mediator, case)
        db.session.commit()

    def signatures(self, case: Case) -> None:
        mediation_work.record_signatures(
            db.session,
            self.s.mediator,
            case,
            complainant_signed_on=date.today(),
            respondent_signed_on=date.today(),
        )
        db.session.commit()

    def mediator_act(self, case: Case, action: str, **fields: str) -> None:
        mediation_work.act(db.session, self.s.mediator, case, action, dict(fields))
        db.session.commit()

    def outcome(self, case: Case, result: str = "mediated_agreement_full") -> None:
        outcomes.record_outcome(
            db.session,
            self.s.officer,
            case,
            result=result,
            remedies=[outcomes.RemedyInput("payment", 1200)],
            sought=["payment", "funding_reinstated"],
        )
        db.session.commit()

    def close(self, case: Case, result: str = "mediated_agreement_full") -> None:
        self.outcome(case, result)
        outcomes.close_case(db.session, self.s.officer, case, reason="Agreement kept")
        db.session.commit()

    def complainant_act(self, case: Case, action: str, **fields: str) -> None:
        perform(db.session, case, action, Actor.complainant(), role="complainant", fields=fields)
        db.session.commit()

    # Paths to each state -----------------------------------------------------------------

    def to(self, state: str, openness: str = "confidential") -> complaints.Filed:
        """A new case in `state`, reached by real steps from filing."""
        filed = self.file(openness)
        case = filed.case
        for step in self.path(state, filed):
            step()
        db.session.refresh(case)
        assert case.state == state.removesuffix("_unanswered"), (state, case.state)
        return filed

    def path(self, state: str, filed: complaints.Filed) -> list[Callable[[], None]]:
        c = filed.case
        ack = [lambda: self.officer_act(c, "acknowledge")]
        tri = [*ack, lambda: self.officer_act(c, "start_triage"), lambda: self.triaged(c)]
        offered = [
            *tri,
            lambda: self.officer_act(c, "offer_mediation"),
            lambda: self.approve_statement(filed),
        ]
        appointed = [*offered, lambda: self.respondent_agrees(c), lambda: self.propose(c)]
        mediating = [
            *appointed,
            lambda: self.mediator_confirms(c),
            lambda: self.signatures(c),
            lambda: self.mediator_act(c, "begin_mediation"),
        ]
        agreed = [*mediating, lambda: self.mediator_act(c, "record_agreement", agreement="full")]
        checking = [*agreed, lambda: self.officer_act(c, "check_implementation")]
        closed = [*checking, lambda: self.close(c)]
        paths: dict[str, list[Callable[[], None]]] = {
            "submitted": [],
            "acknowledged": ack,
            "triage": tri,
            "not_accepted": [
                *tri,
                lambda: self.officer_act(
                    c, "decline", decline_reason="out_of_scope", reason="Not a Compact matter"
                ),
            ],
            "informal_resolution": [
                *tri,
                lambda: self.officer_act(c, "start_informal", reason="Try a call first"),
                lambda: self.approve_statement(filed),
            ],
            "mediation_offered": offered,
            "mediator_appointed": appointed,
            # Offered to a mediator before the public body has answered the offer.
            "mediator_appointed_unanswered": [*offered, lambda: self.propose(c)],
            "in_mediation": mediating,
            "agreement": agreed,
            "no_agreement": [
                *mediating,
                lambda: self.mediator_act(
                    c, "record_no_agreement", reason="Positions too far apart"
                ),
            ],
            "implementation_check": checking,
            "closed": closed,
            "on_hold": [*tri, lambda: self.officer_act(c, "put_on_hold", reason="Court case")],
            "referred": [
                *tri,
                lambda: self.officer_act(c, "refer", referred_to="local_government_ombudsman"),
            ],
            "withdrawn": [*ack, lambda: self.complainant_act(c, "withdraw")],
            "respondent_declined": [
                *offered,
                lambda: respondents.answer_mediation(
                    db.session, self.s.respondent, c.reference, agree=False, reason="Not now"
                ),
                db.session.commit,
            ],
            "closure_contested": [
                *closed,
                lambda: self.complainant_act(c, "contest_closure", reason="Not kept at all"),
            ],
        }
        return paths[state]


@pytest.fixture
def driver(staffed: Staffed) -> Driver:
    return Driver(staffed)


class Browser:
    """A test client whose every request runs in its own app context, as in production.

    The casework fixtures keep an app context open for the test's own database work;
    without this, requests would share its `g` (and so its signed-in user) and session.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.app.app_context():
            response = self.client.open(*args, **kwargs)
        db.session.expire_all()  # the test's own session sees what the request wrote
        return response

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self.open(*args, method="GET", **kwargs)

    def post(self, *args: Any, **kwargs: Any) -> Any:
        return self.open(*args, method="POST", **kwargs)


def staff_browser(app: Flask, login: Any) -> Browser:
    from tests.conftest import current_code

    browser = Browser(app)
    first = browser.post("/sign-in", data={"email": login.email, "password": login.password})
    assert first.status_code == 302, first.text
    if first.headers["Location"].endswith("/sign-in/code"):
        second = browser.post("/sign-in/code", data={"code": current_code(login.totp_secret)})
        assert second.status_code == 302, second.text
    return browser


def complainant_browser(app: Flask, reference: str, passphrase: str) -> Browser:
    browser = Browser(app)
    response = browser.post(
        "/my-complaint/sign-in", data={"reference": reference, "passphrase": passphrase}
    )
    assert response.status_code == 302, response.text
    return browser


def days_ago(n: int) -> date:
    return date.today() - timedelta(days=n)


# Writers racing on one case, each on a connection of its own ----------------------------


def at_once(app: Flask, *work: Callable[[], None]) -> None:
    """Run each piece of work on a thread of its own, with its own app context, session and
    connection, each committing as a request does; fail with any error one of them met."""
    errors: list[BaseException] = []

    def run(piece: Callable[[], None]) -> None:
        with app.app_context():
            try:
                piece()
                db.session.commit()
            except BaseException as exc:  # reported below, on the test's own thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(piece,)) for piece in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is still waiting"
    assert not errors, errors


def case_by_reference(reference: str) -> Case:
    return db.session.execute(select(Case).where(Case.reference == reference)).scalar_one()


class LingeringLock:
    """Makes one thread hold a case lock a while: the thread that calls `first()` takes
    the case lock as usual, then keeps it until another connection is waiting on a lock it
    holds (PostgreSQL's `pg_blocking_pids`), or `seconds` at most when none comes to wait,
    so that the other thread's work runs into it. `held` is set once it holds the lock.

    Only calls through `case_keys.lock_case` linger (as `case_sealing_key` makes them); a
    module that imported `lock_case` itself takes the lock without lingering."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, seconds: float = 3.0) -> None:
        self.held = threading.Event()
        self._threads: list[threading.Thread] = []
        real_lock = case_keys.lock_case

        def lock_then_linger(session: Session, case: Case) -> Case:
            locked = real_lock(session, case)
            if threading.current_thread() in self._threads and not self.held.is_set():
                self.held.set()
                _wait_for_a_waiter(session, seconds)
            return locked

        monkeypatch.setattr(case_keys, "lock_case", lock_then_linger)

    def first(self) -> None:
        """Called on the thread whose first case lock lingers."""
        self._threads.append(threading.current_thread())

    def wait(self) -> None:
        """Called on the other thread: go on once the first holds the lock."""
        assert self.held.wait(30), "the first thread never took the case lock"


def _wait_for_a_waiter(session: Session, seconds: float) -> None:
    """Until another connection waits on a lock this session's holds, or `seconds` pass.
    Asked on the session's own connection (no flush: the caller's order of writes stays)."""
    connection = session.connection()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        waiting = connection.exec_driver_sql(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity"
            " WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
        ).scalar()
        if waiting:
            return
        time.sleep(0.02)
