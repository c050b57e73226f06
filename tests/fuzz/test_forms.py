"""Hypothesis over every form each kind of person can reach: no 500, no partial write, and
every refusal a clear message (see tests/fuzz/forms.py for what is checked)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mediation.extensions import db
from mediation.models.staff import StaffUser
from mediation.services import identity_access, intake, keyring
from tests import seeded
from tests.conftest import TEST_PASSWORD, AuthActions, StaffFactory
from tests.fuzz.forms import Form, crawl, fuzz_form

EXAMPLES = int(os.environ.get("FORM_FUZZ_EXAMPLES", "12"))

# What a refusal may still write, and why.
KEPT_ON_REFUSAL = {
    # G7: the complaint form saves every page as typed, valid or not, sealed in a draft.
    "intake": {"intake_drafts", "intake_draft_documents"},
    # Wrong passphrases are counted, per reference from a client and per client (G4), in
    # the shared store only: a refused sign-in writes nothing to the database.
    "complainant sign-in": set(),
    # A refused staff sign-in is an audit event.
    "staff sign-in": {"audit_entries", "audit_head"},
}


def refusal_may_write(form: Form) -> set[str]:
    if form.action.startswith("/my-complaint/new"):
        return KEPT_ON_REFUSAL["intake"]
    if form.action == "/my-complaint/sign-in":
        return KEPT_ON_REFUSAL["complainant sign-in"]
    if form.action.startswith("/sign-in"):
        return KEPT_ON_REFUSAL["staff sign-in"]
    return set()


def seed_case(app: Flask, officer_id: int, mediator_id: int) -> tuple[str, str, int]:
    """A confidential case, assigned, with a pending identity request: (reference,
    passphrase, request id)."""
    with app.app_context():
        filed = seeded.file_seeded()
        officer = db.session.get(StaffUser, officer_id)
        mediator = db.session.get(StaffUser, mediator_id)
        assert officer and mediator
        key = keyring.unlock(db.session, officer, TEST_PASSWORD)
        assert key
        identity_access.assign_mediator(db.session, officer, key, filed.case, mediator)
        asked = identity_access.request_identity(
            db.session, mediator, filed.case, "To agree a date for a joint session"
        )
        db.session.commit()
        return filed.reference, filed.passphrase, asked.id


def run(app: Flask, client: FlaskClient, start: list[str], minimum: int) -> None:
    forms = crawl(client, start)
    assert len(forms) >= minimum, [form.describe() for form in forms]
    # Whatever a form kept (a draft saves answers as typed), the pages that show it later
    # must still work: the start pages are read again after every example.
    revisit = [path for path in start if path.startswith("/my-complaint/new/check")]

    def pages_still_work() -> None:
        for path in revisit:
            response = client.get(path)
            assert response.status_code < 500, f"{path} broke after a fuzzed answer was saved"

    tallies = {}
    for form in forms:
        tallies[form.action] = fuzz_form(
            app,
            client,
            form,
            may_change=refusal_may_write(form),
            examples=EXAMPLES,
            after_each=pages_still_work,
        )
    # The fuzzing reached the forms' validation, not only redirects and error pages.
    assert sum(tally["refused"] for tally in tallies.values()) > 0, tallies


Setup = Callable[[Flask, FlaskClient, StaffFactory], tuple[list[str], int]]


def visitor(app: Flask, client: FlaskClient, make_staff: StaffFactory) -> tuple[list[str], int]:
    make_staff("case_officer")
    with app.app_context():
        make_staff.body("Marsh County Council")
        db.session.commit()
    # A draft exists once the first page is saved, so that every later page can be reached.
    client.post("/my-complaint/new/openness", data={"openness": "confidential"})
    steps = [f"/my-complaint/new/{step}" for step in intake.steps_for("confidential")]
    return ["/", "/sign-in", "/my-complaint/sign-in", *steps, "/my-complaint/new/check"], 10


def complainant(app: Flask, client: FlaskClient, make_staff: StaffFactory) -> tuple[list[str], int]:
    officer = make_staff("case_officer")
    mediator = make_staff("mediator")
    reference, passphrase, _ = seed_case(app, officer.id, mediator.id)
    signed_in = client.post(
        "/my-complaint/sign-in", data={"reference": reference, "passphrase": passphrase}
    )
    assert signed_in.status_code == 302
    return ["/my-complaint/"], 2


def staff(role: str) -> Setup:
    def setup(app: Flask, client: FlaskClient, make_staff: StaffFactory) -> tuple[list[str], int]:
        officer = make_staff("case_officer")
        mediator = make_staff("mediator")
        reference, _, request_id = seed_case(app, officer.id, mediator.id)
        person = {"case_officer": officer, "mediator": mediator}.get(role) or make_staff(role)
        AuthActions(client).sign_in(person)
        start = [client.get("/sign-in").headers.get("Location", "/")]
        if role == "case_officer":
            start += [f"/identity/requests/{request_id}", f"/identity/cases/{reference}"]
        if role == "mediator":
            start += [f"/identity/cases/{reference}", f"/identity/cases/{reference}/request"]
        return start, {"case_officer": 3, "mediator": 2, "admin": 2}.get(role, 0)

    return setup


def newcomer(app: Flask, client: FlaskClient, make_staff: StaffFactory) -> tuple[list[str], int]:
    """A person with a set-up link, and one half-way through signing in."""
    from mediation.services import accounts
    from mediation.services.audit import Actor

    with app.app_context():
        created = accounts.create_staff_user(
            db.session,
            Actor.system("test"),
            email="new@staff.example.org",
            name="New",
            role="analyst",
        )
        db.session.commit()
        token = created.setup_token
    login = make_staff("mediator")
    client.post("/sign-in", data={"email": login.email, "password": login.password})
    return [f"/set-up/{token}", "/sign-in/code"], 2


@pytest.mark.parametrize(
    ("who", "setup"),
    [
        ("visitor", visitor),
        ("complainant", complainant),
        ("newcomer", newcomer),
        ("case_officer", staff("case_officer")),
        ("mediator", staff("mediator")),
        ("respondent", staff("respondent")),
        ("analyst", staff("analyst")),
        ("admin", staff("admin")),
    ],
)
def test_every_form_survives_fuzzing(
    who: str, setup: Setup, app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    start, minimum = setup(app, client, make_staff)
    run(app, client, start, minimum)
