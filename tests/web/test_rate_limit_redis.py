"""The sign-in throttle on Redis, as production runs it: every worker shares one count, so
guessing cannot be spread across workers, and Redis holds no email or client address."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask

from mediation import create_app
from mediation.extensions import db
from tests.conftest import ON_POSTGRES, StaffFactory, _empty_postgres

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379 (CI starts one; `.ci/run` does it)")
    return client


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own, removed afterwards."""
    client = _redis()
    value = f"mediation-test-{uuid.uuid4().hex}"
    yield value
    for key in client.scan_iter(f"*{value}*"):
        client.delete(key)


def worker(app_config: dict[str, Any], prefix: str) -> Flask:
    """One app worker: its own process state, the shared Redis counters."""
    return create_app(
        {
            **app_config,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "RATELIMIT_KEY_PREFIX": prefix,
        }
    )


def test_two_workers_share_the_sign_in_count_and_redis_keeps_no_address_or_email(
    app_config: dict[str, Any], prefix: str
) -> None:
    first, second = worker(app_config, prefix), worker(app_config, prefix)
    with first.app_context():
        if ON_POSTGRES:
            _empty_postgres(first)
    user = StaffFactory(first)("analyst")
    statuses = []
    for attempt in range(11):
        app = (first, second)[attempt % 2]  # the guesses alternate between the workers
        statuses.append(
            app.test_client()
            .post(
                "/sign-in",
                data={"email": user.email, "password": "wrong guess"},
                environ_base={"REMOTE_ADDR": "203.0.113.77"},
            )
            .status_code
        )
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429  # in memory each worker would still allow five more

    stored = b" ".join(_redis().scan_iter(f"*{prefix}*")).decode()
    assert stored, "the counters are in Redis"
    assert user.email.lower() not in stored.lower()
    assert "203.0.113.77" not in stored
    for app in (first, second):
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
