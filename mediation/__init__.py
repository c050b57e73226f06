"""Compact Mediation: confidential complaints and mediation for breaches of the Compact."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event

from mediation.config import Defaults, environment_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, CLI and error pages."""
    instance_path = os.environ.get("MEDIATION_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(Defaults)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(instance_path) / 'mediation.sqlite3'}"
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(environment_settings())
    else:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "No SECRET_KEY: run `make run` once (it creates instance/config.py) "
            "or set the SECRET_KEY environment variable."
        )
    if app.config.get("REDIS_URL"):
        app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    else:
        app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        # A hanging Redis must not hold a worker until gunicorn's timeout (see shared_store).
        from mediation.shared_store import REDIS_TIMEOUT_SECONDS

        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS",
            {
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            },
        )

    if app.config.get("TRUSTED_PROXIES"):
        # Behind a reverse proxy, take the client address from its X-Forwarded-For header.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    _database_options(app)
    _init_extensions(app)

    from mediation.web import register_web

    register_web(app)

    from mediation.cli import register_cli

    register_cli(app)
    return app


def _database_options(app: Flask) -> None:
    """SQLite: a longer wait for the write lock. PostgreSQL, for every connection: no JIT
    compilation. The planner prices the case queue's filtered statements (one small
    subquery per case) past `jit_above_cost`, and compiling them took 70-110 ms where
    running them takes 20-30 ms; no statement here runs long enough to repay compiling it."""
    from sqlalchemy.engine import make_url

    backend = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    if backend == "sqlite":
        # SQLite has one writer at a time: a writer waits this long for the one before it
        # (a key rotation over many cases, say) before "database is locked" (5 s otherwise).
        connect_args.setdefault("timeout", 30)
        options["connect_args"] = connect_args
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
        return
    if backend != "postgresql":
        return
    connect_args["options"] = f"{connect_args.get('options', '')} -c jit=off".strip()
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


# SQLite's page cache, per connection, in KiB (its default is 2 MiB). A case row with its
# sealed columns fills most of a 4 KiB page, so the queue, which reads a few hundred case
# rows and indexes over the live cases, did not fit in 2 MiB: every request read the same
# pages from the file again, and took twice as long. Memory is taken only as pages are read.
SQLITE_CACHE_KIB = 32 * 1024


def _sqlite_connection(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    cursor.close()


def _init_extensions(app: Flask) -> None:
    from mediation import (
        models,  # noqa: F401  (registers the tables)
        request_transactions,
        shared_store,
    )
    from mediation.extensions import csrf, db, limiter, login_manager, migrate, talisman
    from mediation.services import queue_cache, queue_replica

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_connection)
    request_transactions.install(app)
    queue_cache.install(app)
    queue_replica.install(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    shared_store.install(app)
    talisman.init_app(
        app,
        force_https=False,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="no-referrer",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_samesite="Strict",
        strict_transport_security=True,
        permissions_policy={"geolocation": "()", "camera": "()", "microphone": "()"},
    )
