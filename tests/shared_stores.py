"""Apps with throttling on, over each kind of shared store: this process's memory, and
Redis as production runs it (skipped where no Redis answers on 127.0.0.1:6379)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask

from mediation import create_app
from mediation.extensions import db
from tests.conftest import ON_POSTGRES, _empty_postgres

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379 (CI starts one; `.ci/run` does it)")
    return client


class Apps:
    """Makes apps on one kind of store; each app made on Redis gets a key prefix of its
    own (a store of its own), removed at the end."""

    def __init__(self, app_config: dict[str, Any], kind: str) -> None:
        self.app_config = app_config
        self.kind = kind
        self.made: list[Flask] = []
        self.prefixes: list[str] = []

    def __call__(self, **settings: Any) -> Flask:
        config = {**self.app_config, "RATELIMIT_ENABLED": True, **settings}
        if self.kind == "redis":
            redis_or_skip()
            prefix = f"mediation-test-{uuid.uuid4().hex}"
            self.prefixes.append(prefix)
            config.update(RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix)
        app = create_app(config)
        with app.app_context():
            if ON_POSTGRES and not self.made:
                _empty_postgres(app)
        self.made.append(app)
        return app

    def redis_dump(self) -> dict[str, str]:
        """Every key these apps' Redis holds (the limiter's and the shared store's), with
        its value as text."""
        client = redis_or_skip()
        dump: dict[str, str] = {}
        for prefix in self.prefixes:
            for raw in client.scan_iter(f"*{prefix}*"):
                key = raw.decode()
                kind = client.type(raw).decode()
                if kind == "string":
                    value: Any = client.get(raw)
                elif kind == "hash":
                    value = client.hgetall(raw)
                elif kind == "list":
                    value = client.lrange(raw, 0, -1)
                elif kind == "zset":
                    value = client.zrange(raw, 0, -1, withscores=True)
                else:
                    value = kind
                dump[key.replace(prefix, "<prefix>")] = _text(value)
        return dump

    def wipe(self) -> None:
        """Empty these apps' Redis keys (a store thrown away)."""
        client = redis_or_skip()
        for prefix in self.prefixes:
            for key in client.scan_iter(f"*{prefix}*"):
                client.delete(key)

    def close(self) -> None:
        for app in self.made:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        if self.prefixes:
            client = redis_or_skip()
            for prefix in self.prefixes:
                for key in client.scan_iter(f"*{prefix}*"):
                    client.delete(key)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return f"{value.hex()} {value.decode('latin-1')}"
    if isinstance(value, dict):
        return " ".join(f"{_text(k)}={_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return " ".join(_text(item) for item in value)
    return str(value)


@pytest.fixture(params=["memory", "redis"])
def make_app(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> Iterator[Apps]:
    apps = Apps(app_config, request.param)
    yield apps
    apps.close()


@pytest.fixture
def gated_app(make_app: Apps) -> Flask:
    """One app with throttling on, over memory or Redis."""
    return make_app()
