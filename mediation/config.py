"""Default settings, overridden by instance/config.py and then by environment variables."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any


class Defaults:
    """Settings that are safe to ship; secrets come from instance/config.py."""

    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    # hide_parameters: a database error in a log never carries the values sent with it.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    DEMO_MODE = False
    REDIS_URL: str | None = None

    # Sessions: signed cookies only, so any worker can serve any request.
    SESSION_COOKIE_NAME = "cm_session"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Strict"
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=30)
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Strict"
    WTF_CSRF_TIME_LIMIT: int | None = None  # tied to the session instead, which idles out
    # Flask-WTF's extra check on HTTPS wants a Referer from this host on every form post,
    # and the Referrer-Policy here is no-referrer: browsers send none, and every form would
    # fail behind the TLS proxy. The session cookie is SameSite=Strict, so a cross-site
    # post carries no session, and the CSRF token is checked regardless.
    WTF_CSRF_SSL_STRICT = False

    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

    # Sign-in throttling (Flask-Limiter syntax).
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    RATELIMIT_ENABLED = True
    # Every keyed hash of a client address is made under a random key of this many seconds'
    # period, kept only in the shared store (Redis) and expiring with the period: at least
    # the longest limit's window (a day), so that no day's count starts again mid-way.
    CLIENT_KEY_PERIOD = 24 * 60 * 60
    # Complaint drafts started, and uploads into drafts, per client: each draft may hold
    # documents for 24 hours, so without these one script could fill the disk.
    DRAFT_RATE_LIMIT = "20 per hour;60 per day"
    UPLOAD_RATE_LIMIT = "60 per hour;200 per day"
    # Pages of a draft saved (or a draft deleted) per client: every such POST seals and
    # writes, so each is counted; far past what anyone filling in the form does.
    DRAFT_PAGE_RATE_LIMIT = "300 per hour;1000 per day"
    # Every other POST from someone signed in as no one (a sign-out, a portal form after
    # the session ended), outside the API, which counts every request (API_REQUEST_LIMIT).
    PUBLIC_POST_RATE_LIMIT = "600 per hour;3000 per day"
    # What a complainant may add to a filed case over its life (documents, sealed bytes).
    MAX_CASE_DOCUMENTS = 50
    MAX_CASE_DOCUMENT_BYTES = 200 * 1024 * 1024

    # Vault.
    VAULT_SUITE = "x25519"  # or "mlkem768-x25519"
    VAULT_KDF_PROFILE = "production"  # "test" makes key derivation cheap in tests only
    IDENTITY_APPROVALS_REQUIRED = 1
    RETENTION_MONTHS = 12

    # Mail.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "no-reply@compact-mediation.example.org"
    # The emails a complainant's act causes are all due at one random boundary of an
    # OUTBOX_GRID_MINUTES grid, between the first and second number of minutes after the
    # act, then go with the next `flask outbox deliver` (cron): neither a recipient nor the
    # database learns when within an hour the complainant acted (the span minus the
    # minimum, rounded down to the grid). Staff acts' emails are not delayed. Every
    # email's `sent_at` is kept to the grid too.
    OUTBOX_DELAY_MINUTES = (5, 65)
    OUTBOX_GRID_MINUTES = 15

    SERVICE_URL = "http://127.0.0.1:5000"
    TRUSTED_PROXIES = 0  # how many reverse proxies set X-Forwarded-For in front of the app


ENVIRONMENT_OVERRIDES: dict[str, str] = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY": "SECRET_KEY",
    "REDIS_URL": "REDIS_URL",
    "MAIL_SERVER": "MAIL_SERVER",
    "MAIL_PORT": "MAIL_PORT",
    "MAIL_USERNAME": "MAIL_USERNAME",
    "MAIL_PASSWORD": "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER": "MAIL_DEFAULT_SENDER",
    "SERVICE_URL": "SERVICE_URL",
    "VAULT_SUITE": "VAULT_SUITE",
    "RETENTION_MONTHS": "RETENTION_MONTHS",
    "TRUSTED_PROXIES": "TRUSTED_PROXIES",
    "STATISTICS_DP_EPSILON": "STATISTICS_DP_EPSILON",
    "STATISTICS_DP_BUDGET": "STATISTICS_DP_BUDGET",
}

TRUE_WORDS = {"1", "true", "yes", "on"}


def environment_settings(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Read the settings that environment variables override."""
    environ = dict(os.environ) if environ is None else environ
    settings: dict[str, Any] = {}
    for variable, key in ENVIRONMENT_OVERRIDES.items():
        if environ.get(variable):
            value: Any = environ[variable]
            if key in {"MAIL_PORT", "RETENTION_MONTHS", "TRUSTED_PROXIES"}:
                value = int(value)
            if key in {"STATISTICS_DP_EPSILON", "STATISTICS_DP_BUDGET"}:
                value = float(value)
            settings[key] = value
    if "DEMO_MODE" in environ:
        settings["DEMO_MODE"] = environ["DEMO_MODE"].strip().lower() in TRUE_WORDS
    return settings
