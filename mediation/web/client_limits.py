"""Counted limits on what one connection may do, beyond the routes' own rate limits."""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import parse_many

from mediation.extensions import client_limit_key, limiter

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
    DRAFT_PAGE_RATE_LIMIT, UPLOAD_RATE_LIMIT); False once it is used up. Counted on the
    sign-in limits' store, under a keyed hash of the address."""
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return True
    key = client_limit_key()
    return all(
        limiter.limiter.hit(item, "client-limit", setting, key)
        for item in parse_many(str(config[setting]))
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
