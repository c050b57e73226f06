"""Exact deadlines sealed under a key only the complainant's side holds.

A session's idle timeout, a draft's 24 hours and an idempotency key's 24 hours need an
exact time; stored readable, each would say to the second when a complainant acted. The
row keeps its deadline rounded up to a UTC midnight (domain/coarse_time.py), enough to
purge it, and the exact deadlines sealed under the key that the session cookie, the draft
cookie or the idempotency key itself carries: the server reads them only while that
complainant is making a request.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Sequence
from datetime import UTC, datetime

from flask import current_app

from mediation.vault import VaultError, decrypt_symmetric, encrypt_symmetric

_DEADLINE = struct.Struct(">q")  # microseconds since the epoch


def _micros(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def seal(deadlines: Sequence[datetime], key: bytes, context: str) -> bytes:
    """The deadlines, sealed under `key` for `context`."""
    plain = b"".join(_DEADLINE.pack(_micros(moment)) for moment in deadlines)
    return encrypt_symmetric(plain, key, f"sealed-clock:{context}")


def open_clock(
    envelope: bytes | None, key: bytes, context: str, count: int
) -> list[datetime] | None:
    """The deadlines sealed by `seal`, or None if missing, forged or sealed elsewhere."""
    if envelope is None:
        return None
    try:
        plain = decrypt_symmetric(envelope, key, f"sealed-clock:{context}")
    except (VaultError, ValueError):
        return None
    if len(plain) != _DEADLINE.size * count:
        return None
    return [
        datetime.fromtimestamp(_DEADLINE.unpack_from(plain, i * _DEADLINE.size)[0] / 1_000_000, UTC)
        for i in range(count)
    ]


def key_from_secret(label: str, secret: bytes) -> bytes:
    """A 32-byte clock key from something only the client holds (an idempotency key),
    under the app's secret key and a label of its own (apart from every keyed hash)."""
    app_secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(
        app_secret, b"sealed-clock\x00" + label.encode() + b"\x00" + secret, hashlib.sha256
    ).digest()
