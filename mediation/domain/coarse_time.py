"""How coarsely a complainant's acts are timed: the UTC day, and deadlines rounded up to one.

A complainant-originated row (a draft, a session, an idempotency key, an audit entry of
their act, the email it causes) keeps no time finer than its UTC day, so that someone
holding the database cannot match it to a moment. Where the service needs an exact
deadline (a session idles out after 30 minutes), the stored one is rounded up to the next
UTC midnight, and the exact one is sealed under a key only the complainant's side holds
(services/sealed_clocks.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

ONE_DAY = timedelta(days=1)


def day_start(moment: datetime) -> datetime:
    """Midnight UTC of the day `moment` falls on (aware)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def day_end(moment: datetime) -> datetime:
    """The first UTC midnight at or after `moment`: a deadline rounded up to a whole day."""
    start = day_start(moment)
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return start if aware == start else start + ONE_DAY
