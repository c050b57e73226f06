"""The JSON API's `Idempotency-Key`: a client's retry files one complaint, never two.

A key is kept for 24 hours under a keyed hash (HMAC with `SECRET_KEY`), with a second
keyed hash over the key and the request body. The passphrase is never kept: a repeat of
the same request is told the reference of the complaint it filed, and that the passphrase
was given only in the first answer. Anyone could send a repeat, so a repeat must learn
nothing the first caller did not already hold, and a reference opens nothing on its own.

The body's hash also takes the idempotency key, so someone holding the database and the
secret key still cannot confirm a guessed complaint without the client's random key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mediation.domain.coarse_time import day_end, day_start
from mediation.models.cases import Case
from mediation.models.intake import ApiIdempotencyKey
from mediation.models.time import as_utc
from mediation.services import intake, sealed_clocks
from mediation.services.complaints import Filed
from mediation.services.errors import InvalidInput, ServiceError

HEADER = "Idempotency-Key"
KEY_LIFETIME = timedelta(hours=24)
# Visible ASCII, long enough to be a random UUID; the OpenAPI document has the same pattern.
KEY_PATTERN = re.compile(r"[!-~]{16,255}")
KEY_RULE = (
    "The Idempotency-Key header must be 16 to 255 visible ASCII characters with no spaces: "
    "use a new random UUID for each complaint."
)


class IdempotencyKeyInvalid(InvalidInput):
    """The header is there but cannot be a key: too short, too long or not plain ASCII."""

    default_message = KEY_RULE


class IdempotencyKeyReused(InvalidInput):
    """The key already filed a different complaint: the caller must use a new key."""

    default_message = (
        "This Idempotency-Key was already used, in the last 24 hours, for a different "
        "complaint. Nothing was filed. Use a new key for each new complaint, and the same "
        "key only to send exactly the same complaint again."
    )


class IdempotencyKeyBusy(ServiceError):
    """Another request with this key is still being filed: ask again in a moment."""

    default_message = (
        "A complaint sent with this Idempotency-Key is still being filed. "
        "Wait a few seconds, then send the same request again."
    )


@dataclass(frozen=True)
class AlreadyFiled:
    """A repeat of a request that filed a complaint: its reference, never its passphrase."""

    reference: str
    submitted_on: date


def check_key(value: str) -> str:
    """The key as sent, or IdempotencyKeyInvalid. Taken literally: no trimming, no unquoting."""
    if not KEY_PATTERN.fullmatch(value):
        raise IdempotencyKeyInvalid()
    return value


def _keyed(label: str, *parts: bytes) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    message = b"\x00".join((b"api-idempotency", label.encode("ascii"), *parts))
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def fingerprint(key: str, data: Any) -> tuple[str, str]:
    """Keyed hashes of the key, and of the key with the body (key order and spacing aside)."""
    raw_key = key.encode("ascii")
    # ensure_ascii keeps a lone surrogate encodable; sort_keys makes key order not matter.
    try:
        body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    except RecursionError:
        raise InvalidInput("The JSON is nested too deeply to be a complaint.") from None
    return _keyed("key", raw_key), _keyed("request", raw_key, body.encode("ascii"))


def _clock_key(key: str) -> bytes:
    return sealed_clocks.key_from_secret("api-idempotency", key.encode("ascii"))


def _expired(row: ApiIdempotencyKey, key: str, now: datetime) -> bool:
    """Past its 24 hours: exactly, under the key itself, or as the row says it (the
    midnight after) for a row from before the exact deadline was sealed."""
    if as_utc(row.expires_at) <= now:
        return True
    if row.clock is None:
        return False
    deadline = sealed_clocks.open_clock(row.clock, _clock_key(key), row.key_hash, 1)
    return deadline is None or deadline[0] <= now


def _earlier(
    session: Session, key: str, key_hash: str, request_hash: str, now: datetime
) -> AlreadyFiled | None:
    """What this key filed before, if it is still live; an expired key is forgotten now."""
    row = session.execute(
        select(ApiIdempotencyKey).where(ApiIdempotencyKey.key_hash == key_hash)
    ).scalar_one_or_none()
    if row is None:
        return None
    if _expired(row, key, now):
        session.delete(row)
        session.flush()
        return None
    if not hmac.compare_digest(row.request_hash, request_hash):
        raise IdempotencyKeyReused()
    case = session.get(Case, row.case_id) if row.case_id is not None else None
    if case is None:
        raise IdempotencyKeyBusy()
    return AlreadyFiled(case.reference, case.submitted_on)


def file_from_api(
    session: Session, data: Any, key: str | None, *, max_document_bytes: int, now: datetime
) -> Filed | AlreadyFiled:
    """File the complaint in `data` unless this key already filed it (then say which case).

    Without a key, every request files a complaint. With one, the key is claimed (its row
    inserted) before the complaint is sealed, so of two requests racing with one key the
    second waits on the first's row and then finds its case. A refused complaint keeps
    nothing, so the same key may be sent again once the body is put right. Raises
    IntakeInvalid, IdempotencyKeyInvalid, IdempotencyKeyReused or IdempotencyKeyBusy.
    Caller commits (or rolls back on an error).
    """
    if key is None:
        complaint = intake.complaint_from_json(data, max_document_bytes=max_document_bytes)
        return intake.submit_complaint(session, complaint, channel="api")
    key_hash, request_hash = fingerprint(check_key(key), data)
    earlier = _earlier(session, key, key_hash, request_hash, now)
    if earlier is not None:
        return earlier
    complaint = intake.complaint_from_json(data, max_document_bytes=max_document_bytes)
    # Stored as the day and the midnight after the deadline; the exact deadline is sealed
    # under the key itself, which only the client holds (G11).
    deadline = now + KEY_LIFETIME
    claim = ApiIdempotencyKey(
        key_hash=key_hash,
        request_hash=request_hash,
        created_at=day_start(now),
        expires_at=day_end(deadline),
        clock=sealed_clocks.seal([deadline], _clock_key(key), key_hash),
    )
    session.add(claim)
    try:
        session.flush()
    except IntegrityError:
        # Another request with this key was filed between our look and our claim.
        session.rollback()
        earlier = _earlier(session, key, key_hash, request_hash, now)
        if earlier is None:
            raise IdempotencyKeyBusy() from None
        return earlier
    filed = intake.submit_complaint(session, complaint, channel="api")
    claim.case_id = filed.case.id
    return filed


def purge_expired(session: Session, now: datetime) -> int:
    """Forget keys past the midnight after their 24 hours (all the row says of when they
    were made); a key sent again after its 24 hours is forgotten then. Caller commits."""
    result = session.execute(delete(ApiIdempotencyKey).where(ApiIdempotencyKey.expires_at <= now))
    return int(cast(CursorResult[Any], result).rowcount or 0)
