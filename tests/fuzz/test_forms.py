"""Hypothesis over every form each kind of person can reach: no 500, no partial write, and
every refusal a clear message (see tests/fuzz/forms.py for what is checked)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediation.extensions import db
from mediation.models.staff import StaffUser
from mediation.services import identity_access, intake, keyring
from mediation.web.downloads import attachment
from tests import seeded
from tests.conftest import TEST_PASSWORD, AuthActions, StaffFactory
from tests.fuzz.forms import Form, crawl, fuzz_form

EXAMPLES = int(os.environ.get("FORM_FUZZ_EXAMPLES", "12"))
# Every download's header: one ASCII name, one percent-encoded UTF-8 name, nothing else.
DOWNLOAD_HEADER = re.compile(
    r"attachment; filename=\"[A-Za-z0-9._ -]+\"; filename\*=UTF-8''[A-Za-z0-9%._~-]+"
)

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


# Query strings a stranger can put in any address: control characters (NUL reached the
# queue's statement, a 500 on PostgreSQL), a newline and header text (echoed into a
# download's name), digits int() refuses, non-ASCII, and values past any page's use.
HOSTILE_QUERIES: list[dict[str, str]] = [
    {"state": "\x00"},
    {"release": "a\r\nSet-Cookie: x=1"},
    {"release": 'x"; filename=evil.exe'},
    {"page": "\u00b2"},
    {"page": "99999999999999999999"},
    {"view": "\u00e9\u8349"},
    {"table": "t" * 5_000},
    {"\x00": "1"},
    {"next": "/\t/evil.example.org"},
]


@pytest.mark.parametrize("who", ["visitor", "case_officer", "analyst", "respondent"])
def test_every_page_survives_hostile_query_strings(
    who: str, app: Flask, client: FlaskClient, make_staff: StaffFactory
) -> None:
    setup: Setup = visitor if who == "visitor" else staff(who)
    start, _ = setup(app, client, make_staff)
    pages: list[str] = []
    crawl(client, start, visited=pages)
    assert len(pages) >= 3, pages
    if who == "analyst":
        pages.append("/analyst/export.csv")  # a download: the crawl keeps only pages
    for page in dict.fromkeys(pages):
        for query in HOSTILE_QUERIES:
            response = client.get(page, query_string=query)
            assert response.status_code < 500, f"{page} with {query!r}: {response.status_code}"
            disposition = response.headers.get("Content-Disposition", "")
            assert "evil" not in disposition and "\n" not in disposition, (page, query)
            unusable = any(not text.isprintable() for pair in query.items() for text in pair)
            if unusable and response.status_code == 200 and response.mimetype == "text/html":
                assert "could not be used" in response.text, (page, query)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    user_id=st.one_of(
        st.text(max_size=30),
        st.builds(
            lambda a, b: f"{a}:{b}",
            st.text(alphabet=st.characters(categories=["Nd", "No"]), max_size=25),
            st.text(alphabet=st.characters(categories=["Nd", "No"]), max_size=25),
        ),
    )
)
def test_any_user_id_in_a_session_is_someone_signed_in_or_no_one(app: Flask, user_id: str) -> None:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    assert client.get("/").status_code == 200
    assert client.get("/casework/").status_code == 302  # to sign in: no such session
    assert client.get("/no-such-page").status_code == 404


@settings(max_examples=300, deadline=None)
@given(name=st.text(alphabet=st.characters(codec=None), max_size=400))
def test_any_document_name_makes_one_safe_download_header(name: str) -> None:
    header = attachment(name)
    header.encode("latin-1")
    assert DOWNLOAD_HEADER.fullmatch(header), header
