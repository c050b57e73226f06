"""Redis down, hanging or with a clock ahead of a worker's: sign-in and every throttled page
answer a clear 503 with Retry-After, quickly, never a 500 after gunicorn's timeout."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mediation import create_app
from mediation.extensions import db
from mediation.shared_store import PERIOD_GRACE_SECONDS, RedisStore, StoreUnavailable
from tests.conftest import ON_POSTGRES, StaffFactory, _empty_postgres
from tests.shared_stores import REDIS_URL, redis_or_skip

# Generous: the store waits at most 0.5 s for Redis, the limiter as long again.
QUICKLY_SECONDS = 5


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A local port that accepts connections and never answers: a hung Redis."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield int(server.getsockname()[1])


@pytest.fixture
def app_on(app_config: dict[str, Any]) -> Iterator[Callable[[str], Flask]]:
    """Makes an app with throttling on over the store at a URL; closes its database."""
    made: list[Flask] = []

    def make(url: str) -> Flask:
        app = create_app({**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": url})
        with app.app_context():
            if ON_POSTGRES:
                _empty_postgres(app)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def timed(send: Any) -> Any:
    started = time.monotonic()
    response = send()
    assert time.monotonic() - started < QUICKLY_SECONDS
    return response


def assert_busy_page(response: Any) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "text/html" in response.content_type
    assert "Wait a minute and try again" in response.text
    assert "Redis" not in response.text and "127.0.0.1" not in response.text


def every_throttled_kind(app: Flask, client: FlaskClient) -> None:
    officer = StaffFactory(app)("case_officer")
    staff = timed(lambda: client.post("/sign-in", data={"email": officer.email, "password": "x"}))
    assert_busy_page(staff)
    complainant = timed(
        lambda: client.post(
            "/my-complaint/sign-in", data={"reference": "CM-AAAA-AAAA", "passphrase": "x y z"}
        )
    )
    assert_busy_page(complainant)
    api = timed(
        lambda: client.post(
            "/api/v1/complainant/sessions",
            json={"reference": "CM-AAAA-AAAA", "passphrase": "x y z"},
        )
    )
    assert api.status_code == 503
    assert api.content_type == "application/problem+json"
    assert api.json is not None and api.json["status"] == 503
    assert int(api.headers["Retry-After"]) > 0


def test_redis_down_answers_503_quickly_never_500(app_on: Callable[[str], Flask]) -> None:
    app = app_on(f"redis://127.0.0.1:{closed_port()}/0")
    every_throttled_kind(app, app.test_client())


def test_redis_hanging_answers_503_within_the_timeout(
    app_on: Callable[[str], Flask], hanging_port: int
) -> None:
    app = app_on(f"redis://127.0.0.1:{hanging_port}/0")
    every_throttled_kind(app, app.test_client())


def test_a_worker_clock_far_behind_redis_still_gets_a_period_key() -> None:
    """The issue: with the worker's clock more than the grace behind Redis's, `SET … PXAT`
    was already past, GET gave None and hmac.new(None) raised (a 500)."""
    client = redis_or_skip()
    prefix = f"mediation-test-{uuid.uuid4().hex}"
    shared = RedisStore(REDIS_URL, prefix)
    try:
        behind = time.time() - 3 * PERIOD_GRACE_SECONDS  # the period ended for Redis
        secret = shared.period_secret(7, behind)
        assert isinstance(secret, bytes) and len(secret) == 32
        assert shared.period_secret(7, behind) == secret  # shared, as any period's key
        ttl = client.pttl(f"{prefix}/client-key/7")
        assert 0 < ttl <= PERIOD_GRACE_SECONDS * 1000  # and it still expires
    finally:
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)


def test_a_store_that_gives_no_key_is_a_named_error(monkeypatch: pytest.MonkeyPatch) -> None:
    redis_or_skip()
    shared = RedisStore(REDIS_URL, f"mediation-test-{uuid.uuid4().hex}")

    class NoValue:
        def __enter__(self) -> NoValue:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def set(self, *args: object, **kwargs: object) -> None:
            return None

        def get(self, *args: object) -> None:
            return None

        def execute(self) -> list[None]:
            return [None, None]

    monkeypatch.setattr(shared.client, "pipeline", lambda **kwargs: NoValue())
    with pytest.raises(StoreUnavailable):
        shared.period_secret(1, time.time() + 60)


def test_a_store_error_during_sign_in_is_a_503(
    app_on: Callable[[str], Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the store raises, the page is the busy page (memory store, raising)."""
    app = app_on("memory://")
    officer = StaffFactory(app)("case_officer")
    with app.app_context():
        from mediation.shared_store import store

        shared = store()

    def refuse(*args: object, **kwargs: object) -> float:
        raise StoreUnavailable("no key")

    monkeypatch.setattr(shared, "reserve", refuse)
    response = app.test_client().post(
        "/sign-in", data={"email": officer.email, "password": officer.password}
    )
    assert_busy_page(response)
