"""G11 for client addresses: nothing stored, kept in the shared store (Redis) or logged lets
anyone holding the database, Redis and instance/ recover a client address or link it to a
case reference typed from it, once the throttling it served has ended.

The issue: failure rows and the limiter's keys held HMAC(SECRET_KEY, address), so with the
database (or Redis) and instance/, trying every IPv4 address recovered each one in hours and
linked it to the case reference typed from it. Each test here visits from one known address
(a staff sign-in, a complainant sign-in over the form and over the API, a draft started)
and then looks at everything kept.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from pathlib import Path

import pytest
from flask import Flask

from mediation.extensions import db, limiter
from mediation.shared_store import MemoryStore, RedisStore, client_digest, store
from tests import seeded, shared_stores
from tests.conftest import StaffFactory
from tests.shared_stores import Apps

# Apps over each kind of shared store (memory, Redis), as a fixture of this module.
make_app = shared_stores.make_app
ADDRESS = "203.0.113.41"
WRONG = "wrong words that are not the passphrase at all"
DIGEST = re.compile(r"[0-9a-f]{32,}")
TEST_PREFIX = re.compile(r"mediation-test-[0-9a-f]{32}")


def set_up(app: Flask) -> tuple[str, str]:
    """A case officer and a filed anonymous case: (staff email, case reference)."""
    officer = StaffFactory(app)("case_officer", email=f"officer-{time.time_ns()}@example.org")
    with app.app_context():
        filed = seeded.file_seeded("anonymous")
        db.session.commit()
        return officer.email, filed.reference


def visit(app: Flask, email: str, reference: str, address: str = ADDRESS) -> None:
    """What one person at `address` might send: each is counted against the address."""
    client = app.test_client()
    where = {"REMOTE_ADDR": address}
    wrong_password = client.post(
        "/sign-in", data={"email": email, "password": "wrong"}, environ_base=where
    )
    assert wrong_password.status_code == 200
    form = client.post(
        "/my-complaint/sign-in",
        data={"reference": reference, "passphrase": WRONG},
        environ_base=where,
    )
    assert form.status_code == 200
    api = client.post(
        "/api/v1/complainant/sessions",
        json={"reference": reference, "passphrase": WRONG},
        environ_base=where,
    )
    assert api.status_code == 401
    draft = client.post(
        "/my-complaint/new/openness", data={"openness": "anonymous"}, environ_base=where
    )
    assert draft.status_code == 302


def database_text(app: Flask) -> str:
    """Every value of every row of every table."""
    parts = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(table.select()):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        raw = bytes(value)
                        parts += [raw.hex(), raw.decode("latin-1")]
                    else:
                        parts.append(str(value))
        db.session.remove()
    return "\n".join(parts)


def instance_text(app: Flask) -> str:
    """Every file in instance/ (the secret key's home), and the app's settings."""
    folder = Path(app.instance_path)
    files = [p.read_bytes() for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    return "\n".join(
        [raw.hex() + raw.decode("latin-1") for raw in files] + [repr(dict(app.config))]
    )


def store_text(app: Flask, apps: Apps) -> str:
    """Everything the shared store and the limiter's counters hold (a test's own Redis key
    prefix left out: the one limiter of the test run keeps the first prefix it was given)."""
    return TEST_PREFIX.sub("<prefix>", _store_text(app, apps))


def _store_text(app: Flask, apps: Apps) -> str:
    with app.app_context():
        shared = store()
        if isinstance(shared, RedisStore):
            return "\n".join(f"{key} {value}" for key, value in apps.redis_dump().items())
        assert isinstance(shared, MemoryStore)
        counters = limiter.storage
        held = [*shared.gate_names(), *(secret.hex() for secret, _ in shared._secrets.values())]
        for attribute in ("storage", "expirations", "events"):
            held += [str(key) for key in getattr(counters, attribute, {})]
        return "\n".join(held)


def candidates(app: Flask, reference: str, address: str = ADDRESS) -> list[str]:
    """What anyone with the database, Redis and instance/ could compute from a guessed
    address: the address, plain hashes, and keyed hashes under the secret key, as the
    failures and the limiter's keys used to be made (and as they are made now, but keyed
    with the secret key)."""
    secret = str(app.config["SECRET_KEY"]).encode()

    def keyed(message: str) -> str:
        return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()

    typed = f"{reference}\x00{address}"
    return [
        address,
        hashlib.sha256(address.encode()).hexdigest(),
        hashlib.sha256(typed.encode()).hexdigest(),
        keyed(f"rate-limit\x00client\x00{address}"),
        keyed(f"complainant-sign-in\x00client\x00{address}"),
        keyed(f"complainant-sign-in\x00reference-from-client\x00{typed}"),
        keyed(f"client-digest\x00rate-limit-client\x00{address}"),
        keyed(f"client-digest\x00complainant-client\x00{address}"),
        keyed(f"client-digest\x00complainant-reference-from-client\x00{typed}"),
    ]


def found(candidate: str, text: str) -> bool:
    # A digest may be kept cut short: 16 hex characters are already no accident.
    return (candidate[:16] if DIGEST.fullmatch(candidate) else candidate) in text


def test_nothing_kept_or_logged_is_the_address_or_a_hash_of_it_under_the_secret_key(
    make_app: Apps, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    email, reference = set_up(app)
    caplog.set_level(logging.DEBUG)
    visit(app, email, reference)
    for _ in range(11):  # past the limits, so that the limiter logs its refusals too
        app.test_client().post(
            "/sign-in",
            data={"email": "x@example.org", "password": "x"},
            environ_base={"REMOTE_ADDR": ADDRESS},
        )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "exceeded" in logged  # the limiter did log, with its key
    kept = {
        "database": database_text(app),
        "store": store_text(app, make_app),
        "instance": instance_text(app),
        "log": logged,
    }
    assert DIGEST.search(kept["store"]), "the counters are in the store"
    for where, text in kept.items():
        for candidate in candidates(app, reference):
            assert not found(candidate, text), (where, candidate)


def test_the_same_visit_is_kept_under_other_digests_each_period(make_app: Apps) -> None:
    """Were the digests any function of the address and what the database, instance/ or
    the code hold, the same visit, to a new store with the same secret key and database,
    would leave the same digests. It leaves none of them: they hang on the period's random
    key, which only the store holds."""
    first = make_app()
    email, reference = set_up(first)
    visit(first, email, reference)
    earlier = set(DIGEST.findall(store_text(first, make_app)))
    assert earlier
    if make_app.kind == "redis":
        make_app.wipe()  # the store thrown away; a new one, as a new period's key would be
    second = make_app()
    visit(second, email, reference)
    later = set(DIGEST.findall(store_text(second, make_app)))
    assert later
    assert earlier.isdisjoint(later)
    assert not any(found(token, database_text(second)) for token in earlier | later)


def test_the_periods_key_is_kept_only_in_the_shared_store(make_app: Apps) -> None:
    app = make_app()
    email, reference = set_up(app)
    visit(app, email, reference)
    with app.app_context():
        shared = store()
        length = int(app.config["CLIENT_KEY_PERIOD"])
        period = int(shared.clock() // length)
        secret = shared.period_secret(period, (period + 1) * length)
    assert secret.hex() in store_text(app, make_app)
    for text in (database_text(app), instance_text(app)):
        assert secret.hex() not in text
        assert secret.decode("latin-1") not in text
    # Not computable from the secret key: a derivation of it would give the same key in
    # another store of the same app; a new store makes a new one.
    other = make_app()
    with other.app_context():
        assert store().period_secret(period, (period + 1) * length) != secret


def test_once_the_period_ends_nothing_kept_links_the_address(make_app: Apps) -> None:
    """Given the database, the store and instance/ after the period's key has expired,
    no digest kept is any that can be made of the address: not under the secret key, not
    under the key the store now holds."""
    period = 2
    app = make_app(CLIENT_KEY_PERIOD=period)
    email, reference = set_up(app)
    # Start at the beginning of a period, so that the whole visit falls within it.
    time.sleep(period - time.time() % period + 0.05)
    visit(app, email, reference)
    kept_then = store_text(app, make_app)
    digests = set(DIGEST.findall(kept_then))
    assert digests
    with app.test_request_context(environ_base={"REMOTE_ADDR": ADDRESS}):
        then = int(store().clock() // period)
        then_key = store().period_secret(then, (then + 1) * period)
    time.sleep(period - time.time() % period + 0.5)  # past the period and its grace
    with app.test_request_context(environ_base={"REMOTE_ADDR": ADDRESS}):
        remade = [
            client_digest("rate-limit-client", ADDRESS),
            client_digest("complainant-client", ADDRESS),
            client_digest("complainant-reference-from-client", reference, ADDRESS),
        ]
    kept_now = "\n".join([database_text(app), store_text(app, make_app), instance_text(app)])
    assert then_key.hex() not in kept_now  # the period's key is gone
    # What was counted then is still there (its counts outlive the key) ...
    assert any(digest in kept_now for digest in digests)
    # ... and nothing kept is any digest of the address that can be made now.
    for candidate in candidates(app, reference) + [d.split(":")[1] for d in remade]:
        assert not found(candidate, kept_now), candidate
