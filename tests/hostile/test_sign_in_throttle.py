"""Hostile sign-ins: guesses sent together, and wrong passwords meant to lock a person out.

Each runs over this process's memory and over Redis (the shared store production uses),
on the database engine under test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mediation.extensions import db
from mediation.services import accounts, complainant_sessions, complaints, staff_sign_in
from mediation.services.complainant_sessions import SignInThrottled
from mediation.services.complaints import UnknownCaseOrPassphrase
from mediation.shared_store import store
from tests import seeded, shared_stores
from tests.conftest import AuthActions, StaffFactory, StaffLogin
from tests.intake.conftest import Clock

# The apps over each kind of shared store (memory, Redis), as fixtures of this module.
make_app, gated_app = shared_stores.make_app, shared_stores.gated_app
WRONG = "wrong words that are not the passphrase at all"
TOGETHER = 10


@pytest.fixture(autouse=True)
def staff_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The staff sign-in's clock, standing still unless a test moves it: a slow machine
    must not let a wait run out between two attempts."""
    import mediation.web.auth.routes as auth_routes

    clock = Clock()
    monkeypatch.setattr(auth_routes, "utcnow", clock)
    return clock


def together(count: int, attempt: Callable[[int], str]) -> list[str]:
    """Run `count` attempts in threads released at the same moment; their outcomes."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        barrier.wait()
        outcome = attempt(n)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == count
    return outcomes


def counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    """Count the calls of a slow check, and make each a little slower, so that attempts
    sent together are all inside it at once unless something stops them before it."""
    calls: list[int] = []
    original = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        time.sleep(0.05)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def filed_reference(app: Flask) -> str:
    StaffFactory(app)("case_officer")
    with app.app_context():
        filed = seeded.file_seeded("anonymous")
        db.session.commit()
        return filed.reference


def test_complainant_guesses_sent_together_run_the_key_derivation_only_as_the_gate_allows(
    gated_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue: ten attempts sent together were all tried. The attempt is now counted
    before the derivation, so only the free attempts run it; the rest wait."""
    reference = filed_reference(gated_app)
    derivations = counting(monkeypatch, complaints, "passphrase_keypair")
    now = datetime.now(UTC)

    def attempt(n: int) -> str:
        with gated_app.app_context():
            try:
                complainant_sessions.sign_in(db.session, reference, WRONG, "203.0.113.9", now)
            except SignInThrottled:
                return "waits"
            except UnknownCaseOrPassphrase:
                return "tried"
            finally:
                db.session.remove()
            return "signed in"

    outcomes = together(TOGETHER, attempt)
    free = complainant_sessions.FREE_FAILURES
    assert outcomes.count("tried") == free == len(derivations)
    assert outcomes.count("waits") == TOGETHER - free


def test_complainant_guesses_at_many_references_sent_together_are_counted_per_client(
    gated_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    filed_reference(gated_app)
    derivations = counting(monkeypatch, complaints, "passphrase_keypair")
    now = datetime.now(UTC)

    def attempt(n: int) -> str:
        with gated_app.app_context():
            try:
                complainant_sessions.sign_in(
                    db.session, f"CM-AAAA-AA{n:02d}", WRONG, "203.0.113.10", now
                )
            except SignInThrottled:
                return "waits"
            except UnknownCaseOrPassphrase:
                return "tried"
            finally:
                db.session.remove()
            return "signed in"

    outcomes = together(TOGETHER, attempt)
    assert outcomes.count("tried") == complainant_sessions.FREE_FAILURES == len(derivations)


def post_password(client: FlaskClient, login: StaffLogin, password: str, address: str) -> Any:
    return client.post(
        "/sign-in",
        data={"email": login.email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_staff_guesses_sent_together_check_the_password_only_as_the_gate_allows(
    gated_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = StaffFactory(gated_app)("case_officer")
    checks = counting(monkeypatch, accounts, "verify_login_password")

    def attempt(n: int) -> str:
        response = post_password(gated_app.test_client(), officer, "a wrong guess", f"10.20.{n}.1")
        return str(response.status_code)

    outcomes = together(2 * TOGETHER, attempt)
    free = staff_sign_in.BACKOFF.free
    assert outcomes.count("200") == free == len(checks)
    assert outcomes.count("429") == TOGETHER


def signed_in_device(app: Flask, login: StaffLogin) -> FlaskClient:
    """A browser the person has fully signed in on (and out of again): a known device."""
    browser = app.test_client()
    AuthActions(browser).sign_in(login)
    assert browser.get_cookie(staff_sign_in.DEVICE_COOKIE, path="/sign-in") is not None
    browser.post("/sign-out")
    return browser


def test_wrong_passwords_from_other_addresses_never_refuse_the_person_on_their_device(
    gated_app: Flask,
) -> None:
    """The issue: twelve wrong passwords from other addresses, then the real officer was
    refused from a new address for up to half an hour."""
    officer = StaffFactory(gated_app)("case_officer")
    device = signed_in_device(gated_app, officer)
    statuses = [
        post_password(gated_app.test_client(), officer, "guess", f"192.0.2.{n}").status_code
        for n in range(1, 16)
    ]
    assert statuses[:10] == [200] * 10
    assert set(statuses[10:]) == {429}  # the attacker is slowed ...
    # ... and the officer, on their own browser, from an address never seen, is not.
    arrived = post_password(device, officer, officer.password, "198.51.100.200")
    assert arrived.status_code == 302
    assert arrived.headers["Location"].endswith("/sign-in/code")


def test_without_a_device_cookie_the_person_is_slowed_never_locked_out(
    gated_app: Flask, staff_clock: Clock
) -> None:
    """Someone on a new device, from a fresh address, while an attacker keeps guessing:
    every wait is at most a minute, and once it ends they get in."""
    clock = staff_clock
    officer = StaffFactory(gated_app)("case_officer")
    waits = []
    for n in range(40):
        response = post_password(gated_app.test_client(), officer, "guess", f"192.0.2.{n}")
        if response.status_code == 429:
            assert "devices it has not been used on" in response.text
            waits.append(int(response.headers["Retry-After"]))
            clock.advance(seconds=waits[-1])
    assert waits and max(waits) == staff_sign_in.BACKOFF.max_seconds
    # The attacker has just been let through again; the person, on a new device, waits at
    # most a minute, keeps what they typed, and then gets in.
    post_password(gated_app.test_client(), officer, "guess", "192.0.2.250")
    newcomer = gated_app.test_client()
    held = post_password(newcomer, officer, officer.password, "198.51.100.201")
    assert held.status_code == 429
    assert int(held.headers["Retry-After"]) <= staff_sign_in.BACKOFF.max_seconds
    assert officer.email in held.text  # the email typed stays in the form
    clock.advance(seconds=int(held.headers["Retry-After"]))
    assert post_password(newcomer, officer, officer.password, "198.51.100.201").status_code == 302


def test_a_known_devices_own_wrong_passwords_slow_that_device_only(
    gated_app: Flask,
) -> None:
    officer = StaffFactory(gated_app)("case_officer")
    device = signed_in_device(gated_app, officer)
    statuses = [
        post_password(device, officer, "a slip", "198.51.100.7").status_code for _ in range(11)
    ]
    assert statuses[:10] == [200] * 10
    refused = post_password(device, officer, officer.password, "198.51.100.7")
    assert refused.status_code == 429 and "from this device" in refused.text
    # The account's gate for unknown devices was never touched by them.
    elsewhere = post_password(gated_app.test_client(), officer, officer.password, "192.0.2.9")
    assert elsewhere.status_code == 302


def test_a_device_cookie_counts_only_for_its_own_account_and_only_as_signed(
    gated_app: Flask,
) -> None:
    make_staff = StaffFactory(gated_app)
    officer, other = make_staff("case_officer"), make_staff("mediator")
    device = signed_in_device(gated_app, officer)
    cookie = device.get_cookie(staff_sign_in.DEVICE_COOKIE, path="/sign-in")
    assert cookie is not None
    with gated_app.app_context():
        assert staff_sign_in.known_device(db.session, officer.email.upper(), cookie.value)
        assert not staff_sign_in.known_device(db.session, other.email, cookie.value)
        forged = cookie.value[:-2] + ("AA" if not cookie.value.endswith("AA") else "BB")
        assert not staff_sign_in.known_device(db.session, officer.email, forged)
    for n in range(12):  # the other account's gate for unknown devices is now waiting
        post_password(gated_app.test_client(), other, "guess", f"192.0.2.{n}")
    borrowed = post_password(device, other, other.password, "198.51.100.9")
    assert borrowed.status_code == 429  # the officer's device is unknown to this account


def test_each_store_applies_the_rule_the_domain_states(gated_app: Flask) -> None:
    """Redis runs the rule as a Lua script, memory in Python: the same answers either way."""
    rule = complainant_sessions.BACKOFF
    with gated_app.app_context():
        shared = store()
        start = 1_000_000.0
        answers = []
        for step in range(14):  # an attempt each 1.5 s: some pass, some wait
            answers.append(shared.reserve(("gate-a",), rule, start + 1.5 * step))
        shared.release("gate-a")
        answers.append(shared.reserve(("gate-a", "gate-b"), rule, start + 100))
        answers.append(shared.reserve(("gate-b",), rule, start + 100))
        shared.forget("gate-a")
        answers.append(shared.reserve(("gate-a",), rule, start + 100))
        answers.append(shared.reserve(("gate-a",), rule, start + 100 + rule.window_seconds + 1))
    expected = [0, 0, 0, 0, 0.5, 0, 2.5, 1.0, 0, 6.5, 5.0, 3.5, 2.0, 0.5]
    # A success given back; both gates counted at once; a gate counted alone; a forgotten
    # gate; a gate after its window.
    expected += [0, 0, 0, 0]
    assert [round(answer, 3) for answer in answers] == expected
