"""Complainant sign-in: slowed guessing without lock-out, and one answer for every failure."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from mediation.services import complaints
from mediation.services.complainant_sessions import MAX_DELAY_SECONDS, delay_after
from tests.intake.conftest import Clock, Receipt

WRONG = "wrong words that are not the passphrase at all"
ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
COMPLAINANT = {"REMOTE_ADDR": "198.51.100.7"}


def sign_in(client: FlaskClient, reference: str, passphrase: str, where: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(
        "/my-complaint/sign-in",
        data={"reference": reference, "passphrase": passphrase},
        environ_base=where,
    )


def test_delays_grow_and_are_capped() -> None:
    delays = [delay_after(n) for n in range(12)]
    assert delays[:3] == [0, 0, 0]
    assert delays[3:8] == [1, 2, 4, 8, 16]
    assert delays[8:] == [MAX_DELAY_SECONDS] * 4
    assert all(a <= b for a, b in itertools.pairwise(delays))


def test_the_right_passphrase_signs_in_however_it_is_typed(
    app: Flask, client: FlaskClient, journey: Callable[..., Receipt], clock: Clock
) -> None:
    receipt = journey("anonymous")
    typed = receipt.passphrase.upper().replace(" ", "-")
    response = sign_in(client, receipt.reference.lower().replace("-", " "), typed, COMPLAINANT)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/my-complaint/")
    assert "Your complaint" in client.get("/my-complaint/").text


def test_guessing_a_reference_is_slowed_but_never_keeps_the_complainant_out(
    app: Flask, journey: Callable[..., Receipt], clock: Clock
) -> None:
    """The public body sees the reference. Guesses at it slow the guesser, however long
    they keep at it; the complainant, signing in from elsewhere, never waits for them."""
    receipt = journey("confidential")
    attacker = app.test_client()
    complainant = app.test_client()
    waits = []
    for _ in range(12):
        response = sign_in(attacker, receipt.reference, WRONG, ATTACKER)
        if response.status_code == 429:
            wait = int(response.headers["Retry-After"])
            waits.append(wait)
            clock.advance(seconds=wait)
            response = sign_in(attacker, receipt.reference, WRONG, ATTACKER)
        assert response.status_code == 200
        assert "The case reference or passphrase is not right" in response.text
    assert waits == sorted(waits) and waits[-1] == MAX_DELAY_SECONDS
    # The guesser now waits the longest; the complainant, straight after, does not wait.
    assert sign_in(attacker, receipt.reference, WRONG, ATTACKER).status_code == 429
    allowed = sign_in(complainant, receipt.reference, receipt.passphrase, COMPLAINANT)
    assert allowed.status_code == 302


def test_one_guess_each_time_the_wait_ends_does_not_keep_the_complainant_out(
    app: Flask, journey: Callable[..., Receipt], clock: Clock
) -> None:
    receipt = journey("anonymous")
    attacker = app.test_client()
    for _ in range(10):
        response = sign_in(attacker, receipt.reference, WRONG, ATTACKER)
        clock.advance(seconds=int(response.headers.get("Retry-After", "0")))
    for attempt in range(5):
        sign_in(attacker, receipt.reference, WRONG, ATTACKER)  # the guess as the wait ends
        complainant = app.test_client()
        where = {"REMOTE_ADDR": f"198.51.100.{20 + attempt}"}
        assert sign_in(complainant, receipt.reference, receipt.passphrase, where).status_code == 302
        clock.advance(seconds=MAX_DELAY_SECONDS)


def test_the_complainants_own_slips_slow_only_their_own_connection(
    app: Flask, journey: Callable[..., Receipt], clock: Clock
) -> None:
    receipt = journey("anonymous")
    complainant = app.test_client()
    for _ in range(4):
        clock.advance(seconds=2)
        sign_in(complainant, receipt.reference, WRONG, COMPLAINANT)
    refused = sign_in(complainant, receipt.reference, receipt.passphrase, COMPLAINANT)
    assert refused.status_code == 429 and "from your connection" in refused.text
    clock.advance(seconds=int(refused.headers["Retry-After"]))
    assert (
        sign_in(complainant, receipt.reference, receipt.passphrase, COMPLAINANT).status_code == 302
    )


def test_refused_attempts_do_not_lengthen_the_wait(
    app: Flask, journey: Callable[..., Receipt], clock: Clock
) -> None:
    receipt = journey("anonymous")
    attacker = app.test_client()
    for failures in range(4):
        clock.advance(seconds=delay_after(failures))
        assert sign_in(attacker, receipt.reference, WRONG, ATTACKER).status_code == 200
    for _ in range(50):
        assert sign_in(attacker, receipt.reference, WRONG, ATTACKER).status_code == 429
    clock.advance(seconds=delay_after(4))
    complainant = app.test_client()
    assert (
        sign_in(complainant, receipt.reference, receipt.passphrase, COMPLAINANT).status_code == 302
    )


def test_guessing_many_references_from_one_client_is_slowed(
    app: Flask, journey: Callable[..., Receipt], clock: Clock
) -> None:
    journey("anonymous")
    attacker = app.test_client()
    statuses = [
        sign_in(attacker, f"CM-AAAA-AA{n:02d}", WRONG, ATTACKER).status_code for n in range(5)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses[3:]


def test_unknown_reference_and_wrong_passphrase_get_the_same_answer(
    app: Flask, journey: Callable[..., Receipt], monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = journey("confidential")
    derivations: list[str] = []
    original = complaints.passphrase_keypair

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        derivations.append("kdf")
        return original(*args, **kwargs)

    monkeypatch.setattr(complaints, "passphrase_keypair", counting)
    wrong = sign_in(app.test_client(), receipt.reference, WRONG, {"REMOTE_ADDR": "192.0.2.1"})
    unknown = sign_in(app.test_client(), "CM-ZZZZ-ZZZZ", WRONG, {"REMOTE_ADDR": "192.0.2.2"})
    assert wrong.status_code == unknown.status_code == 200
    assert derivations == ["kdf", "kdf"]  # the same key derivation on both paths

    def problem(text: str) -> str:
        start = text.index('class="error-summary"')
        return text[start : text.index("</div>", start)]

    assert problem(wrong.text) == problem(unknown.text).replace("CM-ZZZZ-ZZZZ", receipt.reference)
    assert "The case reference or passphrase is not right" in problem(wrong.text)


def test_unknown_reference_and_wrong_passphrase_take_comparable_time(
    app: Flask, journey: Callable[..., Receipt], monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    from mediation.services import case_keys
    from mediation.vault import KdfParams

    # A key derivation heavy enough to dominate, as in production (where it is heavier still).
    heavier = KdfParams(iterations=2, memory_cost=16 * 1024, lanes=1)
    monkeypatch.setattr(case_keys, "passphrase_kdf", lambda: heavier)
    receipt = journey("anonymous")

    def timed(reference: str, address: str) -> float:
        clock.advance(minutes=5)  # past any waiting time: measure the check, not a refusal
        client = app.test_client()
        started = time.perf_counter()
        response = sign_in(client, reference, WRONG, {"REMOTE_ADDR": address})
        elapsed = time.perf_counter() - started
        assert response.status_code == 200
        return elapsed

    wrong, unknown = [], []
    for n in range(7):
        wrong.append(timed(receipt.reference, f"192.0.2.{n}"))
        unknown.append(timed(f"CM-ZZZZ-ZZ{n:02d}", f"192.0.2.{n + 10}"))
    # The fastest run of each is the least disturbed by anything else on the machine.
    ratio = min(wrong) / min(unknown)
    assert 0.5 < ratio < 2.0, (wrong, unknown)


def test_signing_in_again_ends_the_session_held_before(
    app: Flask, journey: Callable[..., Receipt], clock: Clock
) -> None:
    """The earlier session's custody row goes, so a copy of the earlier cookie opens
    nothing, rather than staying usable until it idles out."""
    from mediation.extensions import db
    from mediation.models.intake import ComplainantSession

    receipt = journey("anonymous")
    browser = app.test_client()
    assert sign_in(browser, receipt.reference, receipt.passphrase, COMPLAINANT).status_code == 302
    earlier = browser.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert earlier is not None
    assert sign_in(browser, receipt.reference, receipt.passphrase, COMPLAINANT).status_code == 302
    with app.app_context():
        assert len(db.session.execute(select(ComplainantSession)).all()) == 1
    copy = app.test_client()
    copy.set_cookie(app.config["SESSION_COOKIE_NAME"], earlier.value)
    assert copy.get("/my-complaint/").status_code == 302  # to the sign-in page
    assert browser.get("/my-complaint/").status_code == 200
