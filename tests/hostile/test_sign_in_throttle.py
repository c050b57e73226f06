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


def test_addresses_in_one_ipv6_64_share_a_gate(gated_app: Flask) -> None:
    """The issue: each of an attacker's 2**64 addresses had a gate of its own."""
    now = datetime.now(UTC)
    free = complainant_sessions.FREE_FAILURES
    with gated_app.app_context():
        for n in range(free):  # each guess from another address of one /64
            gates = complainant_sessions.throttle_gates(f"CM-AAAA-AA{n:02d}", f"2001:db8:7:8::{n}")
            complainant_sessions.reserve_attempt(gates, now)
        same_64 = complainant_sessions.throttle_gates("CM-AAAA-AA99", "2001:db8:7:8:ffff::1")
        with pytest.raises(SignInThrottled):
            complainant_sessions.reserve_attempt(same_64, now)
        other_64 = complainant_sessions.throttle_gates("CM-AAAA-AA99", "2001:db8:7:9::1")
        complainant_sessions.reserve_attempt(other_64, now)  # another client: not waiting
        mapped = complainant_sessions.throttle_keys("CM-AAAA-AA99", "::ffff:192.0.2.7")
        assert mapped == complainant_sessions.throttle_keys("CM-AAAA-AA99", "192.0.2.7")
    from mediation.extensions import client_limit_key

    def limit_key_of(address: str) -> str:
        with gated_app.test_request_context(environ_base={"REMOTE_ADDR": address}):
            return client_limit_key()

    assert limit_key_of("2001:db8:7:8::1") == limit_key_of("2001:db8:7:8:abcd::2")
    assert limit_key_of("2001:db8:7:8::1") != limit_key_of("2001:db8:7:9::1")
    assert limit_key_of("::ffff:192.0.2.7") == limit_key_of("192.0.2.7")


def test_the_limiters_counts_are_shared_by_one_ipv6_64(gated_app: Flask) -> None:
    """The API's request limit, counted by the limiter: a new address in the same /64 is
    refused once the limit is used up."""
    gated_app.config["API_REQUEST_LIMIT"] = "3 per hour"
    client = gated_app.test_client()
    statuses = [
        client.post(
            "/api/v1/complainant/sessions",
            json={"reference": "CM-AAAA-AAAA", "passphrase": WRONG},
            environ_base={"REMOTE_ADDR": f"2001:db8:9:9::{n + 1}"},
        ).status_code
        for n in range(4)
    ]
    assert statuses[-1] == 429 and 429 not in statuses[:3]
    elsewhere = client.post(
        "/api/v1/complainant/sessions",
        json={"reference": "CM-AAAA-AAAA", "passphrase": WRONG},
        environ_base={"REMOTE_ADDR": "2001:db8:9:a::1"},
    )
    assert elsewhere.status_code != 429


def test_a_device_cookie_expires_and_ends_with_the_password_or_the_account(
    gated_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue: a device cookie counted for ever, whatever happened to the account."""
    from itsdangerous import TimestampSigner

    from mediation.models.staff import StaffUser

    make_staff = StaffFactory(gated_app)
    officer, other = make_staff("case_officer"), make_staff("mediator")
    cookie = signed_in_device(gated_app, officer).get_cookie(
        staff_sign_in.DEVICE_COOKIE, path="/sign-in"
    )
    other_cookie = signed_in_device(gated_app, other).get_cookie(
        staff_sign_in.DEVICE_COOKIE, path="/sign-in"
    )
    assert cookie is not None and other_cookie is not None
    lifetime = staff_sign_in.DEVICE_LIFETIME.total_seconds()
    real = TimestampSigner.get_timestamp
    with gated_app.app_context():
        assert staff_sign_in.known_device(db.session, officer.email, cookie.value)
        for age, known in ((lifetime - 86400, True), (lifetime + 86400, False)):
            monkeypatch.setattr(
                TimestampSigner,
                "get_timestamp",
                lambda self, age=age: int(real(self) + age),
            )
            assert staff_sign_in.known_device(db.session, officer.email, cookie.value) is known
        monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
        # A password changed (a new hash): the cookie from before no longer counts.
        user = db.session.get(StaffUser, officer.id)
        assert user is not None
        user.password_hash = accounts.hash_login_password("a new password entirely")
        db.session.commit()
        assert not staff_sign_in.known_device(db.session, officer.email, cookie.value)
        # Every session ended (a reset or a sign-out everywhere bumps the version).
        assert staff_sign_in.known_device(db.session, other.email, other_cookie.value)
        colleague = db.session.get(StaffUser, other.id)
        assert colleague is not None
        colleague.session_version += 1
        db.session.commit()
        assert not staff_sign_in.known_device(db.session, other.email, other_cookie.value)
    # Deactivated: a fresh cookie of a third account stops counting.
    third = make_staff("analyst")
    third_cookie = signed_in_device(gated_app, third).get_cookie(
        staff_sign_in.DEVICE_COOKIE, path="/sign-in"
    )
    assert third_cookie is not None
    with gated_app.app_context():
        assert staff_sign_in.known_device(db.session, third.email, third_cookie.value)
        account = db.session.get(StaffUser, third.id)
        assert account is not None
        account.active = False
        db.session.commit()
        assert not staff_sign_in.known_device(db.session, third.email, third_cookie.value)


def test_gate_counts_carry_over_the_period_key_change(gated_app: Flask) -> None:
    """The issue: every count restarted at 00:00 UTC, when the period's key changes, so an
    attacker had a double allowance at midnight. Now a gate's count carries over while the
    previous period's key is kept (an hour), and after that nothing links the two."""
    from mediation.shared_store import CARRY_SECONDS

    length = int(gated_app.config["CLIENT_KEY_PERIOD"])
    boundary = (int(time.time()) // length + 1) * length
    free = complainant_sessions.FREE_FAILURES
    moment = [boundary - 1.0]

    def at(seconds: float) -> datetime:
        moment[0] = seconds
        return datetime.fromtimestamp(seconds, UTC)

    def attempt(seconds: float, address: str = "203.0.113.77") -> str:
        with gated_app.app_context():
            store().clock = lambda: moment[0]
            gates = complainant_sessions.throttle_gates("CM-BBBB-BBBB", address)
            try:
                complainant_sessions.reserve_attempt(gates, at(seconds))
            except SignInThrottled:
                return "waits"
            return "counted"

    before = [attempt(boundary - 1.0) for _ in range(free + 1)]
    assert before == ["counted"] * free + ["waits"]
    # Just past midnight, 1.5 s later: the 1 s wait is over, one more is counted, and the
    # next waits as it would have without the key change (not three fresh free ones).
    after = [attempt(boundary + 0.5) for _ in range(free)]
    assert after == ["counted"] + ["waits"] * (free - 1)
    # Once the previous key is no longer kept, the new period's own counts alone apply.
    later = boundary + CARRY_SECONDS + 10
    with gated_app.app_context():
        store().clock = lambda: later
        assert store().existing_period_secret(boundary // length - 1) is None or (
            # Redis expires keys by its own clock, which the test cannot move.
            gated_app.config["RATELIMIT_STORAGE_URI"].startswith("redis")
        )
    fresh = [attempt(later, "203.0.113.78") for _ in range(free + 1)]
    assert fresh == ["counted"] * free + ["waits"]
