"""Gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py mediation.wsgi:app`.

The access log is kept as G11 asks: no client address (neither the socket's nor one a proxy
forwarded), no query string, no referrer, no user agent, no user name and no time of day,
only the UTC day. On the complainant's side (`/my-complaint`, the complainant and intake
APIs) the path keeps its words but not its numbers, so that no line names a document (and
so a case); a line says, for instance, `2026-12-08 POST /my-complaint/withdraw 302 0 41`.

The logger below builds only those atoms, so a format changed on the command line
(`--access-logformat`) that asks for `%(h)s`, `%(r)s`, `%(t)s`, a header or the environment
gets "-". Write the log to a file (or stdout to a collector that adds no time of its own:
journald does add one): a time added downstream would say when a complainant acted.

This file is only for gunicorn behind the shipped nginx (deploy/nginx.conf), which replaces
X-Forwarded-For with the address it saw: so TRUSTED_PROXIES=1 is set here (`raw_env`),
and an operator who forgets it does not make every client one address with one set of
limits. And gunicorn refuses to start several workers without Redis (`on_starting`).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Config
from gunicorn.glogging import Logger

from mediation import PROJECT_ROOT
from mediation.config import environment_settings

bind = "127.0.0.1:8000"
workers = 4
# One hop: nginx's. It overrides a TRUSTED_PROXIES in the environment, since nginx sets
# X-Forwarded-For to the one address it saw and nothing further back can be told apart.
raw_env = ["TRUSTED_PROXIES=1"]
# No control socket (gunicorn 27 opens ~/.gunicorn/gunicorn.ctl by default): nothing here
# uses it, and two servers on one host would contend for the same path.
control_socket_disable = True
# Set to 1 to run several workers on per-process throttling counters anyway (not advised).
ALLOW_MEMORY_STORE = "MEDIATION_ALLOW_MEMORY_STORE"
accesslog = "-"
# The UTC day, the method, the path, the status, the bytes sent and the time taken (ms).
access_log_format = "%(day)s %(m)s %(U)s %(s)s %(B)s %(M)s"

# Paths of the complainant's side: their numbers are left out of the log.
COMPLAINANT_SIDE = ("/my-complaint", "/api/v1/complainant", "/api/v1/complaints")
_NUMBER = re.compile(r"/\d+(?=/|$)")
# The only atoms the access log is ever given.
SAFE_ATOMS = ("day", "m", "U", "s", "B", "b", "M", "L", "T", "H")


def logged_path(path: str) -> str:
    """The path as the access log keeps it: on the complainant's side, without numbers."""
    if path.startswith(COMPLAINANT_SIDE):
        return _NUMBER.sub("/-", path)
    return path


class AccessLogger(Logger):  # type: ignore[misc]
    """Gunicorn's logger, giving the access log only the atoms in SAFE_ATOMS."""

    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any
    ) -> dict[str, Any]:
        every = super().atoms(resp, req, environ, request_time)
        kept = {name: every[name] for name in SAFE_ATOMS if name in every}
        kept["day"] = datetime.now(UTC).date().isoformat()
        kept["U"] = logged_path(str(environ.get("PATH_INFO") or "/"))
        return kept


logger_class = AccessLogger


def shared_store_uri(environ: dict[str, str] | None = None) -> str:
    """Where the app's workers would keep their throttling counters and sign-in gates,
    read as `create_app` reads it: instance/config.py, then the environment."""
    environ = dict(os.environ) if environ is None else environ
    instance = environ.get("MEDIATION_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    config = Config(instance)
    config.from_pyfile(str(Path(instance) / "config.py"), silent=True)
    config.update(environment_settings(environ))
    return str(config.get("RATELIMIT_STORAGE_URI") or config.get("REDIS_URL") or "memory://")


def on_starting(server: Any) -> None:
    """Refuse several workers on per-process memory: each would keep its own counters and
    sign-in gates, so every limit would be as many times weaker as there are workers."""
    if server.cfg.workers <= 1 or os.environ.get(ALLOW_MEMORY_STORE, "") == "1":
        return
    if shared_store_uri().startswith("memory://"):
        # Gunicorn prints a RuntimeError's message as "Error: ..." and exits with status 1.
        raise RuntimeError(
            f"{server.cfg.workers} workers without REDIS_URL: each worker would keep its own "
            "throttling counters and sign-in gates, and every limit would be "
            f"{server.cfg.workers} times weaker. Set REDIS_URL (README, Production), run "
            f"one worker (-w 1), or set {ALLOW_MEMORY_STORE}=1 to accept that."
        )
