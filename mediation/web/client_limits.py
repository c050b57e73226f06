"""Counted limits on what one connection may do, beyond the routes' own rate limits."""

from __future__ import annotations

import math
import time

from flask import current_app, request, session
from flask_login import current_user
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from mediation.extensions import client_limit_key, limiter
from mediation.web.complainant.session import SESSION_KEY as COMPLAINANT_SESSION

# What the page says, keeping everything else the person typed.
TOO_MANY_DRAFTS = (
    "Too many complaints have been started from your connection recently. What you typed "
    "is still on this page: wait an hour, then choose Continue again."
)
TOO_MANY_PAGE_SAVES = (
    "Pages of a complaint have been saved from your connection far more often than anyone "
    "filling in this form does. What you typed is still on this page, not yet saved: wait "
    "{wait}, then choose Continue again."
)
TOO_MANY_UPLOADS = (
    "Too many files have been sent from your connection recently. Nothing else is lost: "
    "wait an hour, then choose the files again."
)


def allowed(setting: str) -> bool:
    """Count one more against the client's limit named by a setting (DRAFT_RATE_LIMIT,
    DRAFT_PAGE_RATE_LIMIT, PUBLIC_POST_RATE_LIMIT, UPLOAD_RATE_LIMIT); False once it is
    used up. Counted on the sign-in limits' store, under a keyed hash of the address."""
    return _each_window(setting, count=True)


def within(setting: str) -> bool:
    """Whether the client's limit named by a setting would let one more through, counting
    nothing: checked before costly work whose request `allowed` counts only once it is
    known to be valid."""
    return _each_window(setting, count=False)


def _each_window(setting: str, *, count: bool) -> bool:
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return True  # and the limiter, never set up, has no store to ask
    check = limiter.limiter.hit if count else limiter.limiter.test
    key = client_limit_key()
    return all(
        check(item, "client-limit", setting, key) for item in parse_many(str(config[setting]))
    )


def retry_after(setting: str) -> int:
    """Seconds until the client's used-up limit named by a setting lets one more through
    (at least 1): the latest reset among its spent windows."""
    config = current_app.config
    key = client_limit_key()
    waits = [1]
    for item in parse_many(str(config[setting])):
        reset_at, remaining = limiter.limiter.get_window_stats(item, "client-limit", setting, key)
        if remaining <= 0:
            waits.append(math.ceil(reset_at - time.time()))
    return max(waits)


def wait_text(setting: str) -> str:
    """How long until the used-up limit lets one more through, for a page: "a minute",
    "12 minutes"."""
    minutes = max(1, math.ceil(retry_after(setting) / 60))
    return "a minute" if minutes == 1 else f"{minutes:,} minutes"


# The POSTs a stranger can make that are counted by a limit of their own on every POST:
# the draft's pages and its deletion (DRAFT_PAGE_RATE_LIMIT, which shows the page again as
# typed), sending it (INTAKE_RATE_LIMIT) and the staff sign-in forms (LOGIN_RATE_LIMIT).
# The complainant's sign-in counts only wrong passphrases, so it is counted here as well.
COUNTED_BY_THEIR_OWN = frozenset(
    {
        "complainant.step",
        "complainant.delete_draft",
        "complainant.check",
        "auth.sign_in",
        "auth.code",
        "auth.enrol",
        "auth.set_up",
    }
)
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class TooManyFromConnection(TooManyRequests):
    """PUBLIC_POST_RATE_LIMIT is used up for this connection."""

    description = (
        "Far more has been sent from your connection than anyone using this service sends. "
        "Wait an hour, then try again."
    )


def count_public_posts() -> None:
    """Before every request: a POST (or other write) from someone signed in as no one (no
    member of staff, no complainant's session), outside the API and the endpoints counted
    by their own limits, counts against PUBLIC_POST_RATE_LIMIT; past it, a 429."""
    if request.method in _READS or request.endpoint is None:
        return
    if request.path.startswith("/api/") or request.endpoint in COUNTED_BY_THEIR_OWN:
        return
    if session.get(COMPLAINANT_SESSION) or current_user.is_authenticated:
        return
    if not allowed("PUBLIC_POST_RATE_LIMIT"):
        raise TooManyFromConnection()
