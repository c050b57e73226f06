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
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger

bind = "127.0.0.1:8000"
workers = 4
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
