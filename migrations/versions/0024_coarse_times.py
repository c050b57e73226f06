"""Complainant-originated times kept to the day (G11): drafts, their files, idempotency keys
and the outbox coarsened to midnight UTC, their deadlines rounded up to the next midnight,
the exact deadlines sealed in a new `clock` column under the complainant's own key; the
outbox's `not_before` (a random delay after a complainant's act); and the complainant
sessions ended, since a session now needs its sealed clock (the complainant signs in again).

Audit entries are not touched: the chain's hashes cover their times.

Revision ID: 0024
Revises: 0021_queue_changes
Create Date: 2026-12-08 00:30:00

"""

from datetime import UTC, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

CLOCKS = ("intake_drafts", "complainant_sessions", "api_idempotency_keys")


def _aware(moment):
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _day(moment):
    return _aware(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def _day_end(moment):
    start = _day(moment)
    return start if _aware(moment) == start else start + timedelta(days=1)


def _coarsen(table, key, days=(), ends=()):
    """Set each `days` column to its midnight and each `ends` column to the next one."""
    stamp = sa.DateTime(timezone=True)
    columns = [sa.column(key)] + [sa.column(name, stamp) for name in (*days, *ends)]
    rows = sa.table(table, *columns)
    bind = op.get_bind()
    for row in bind.execute(sa.select(*rows.c)).mappings().all():
        values = {}
        for name in days:
            if row[name] is not None:
                values[name] = _day(row[name])
        for name in ends:
            if row[name] is not None:
                values[name] = _day_end(row[name])
        if values:
            bind.execute(rows.update().where(rows.c[key] == row[key]).values(**values))


def upgrade():
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_notifications_not_before"), ["not_before"])
    for table in CLOCKS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("clock", sa.LargeBinary(), nullable=True))
    op.execute(sa.text("DELETE FROM complainant_sessions"))
    _coarsen("intake_drafts", "id", days=("created_at", "updated_at"), ends=("expires_at",))
    _coarsen("intake_draft_documents", "id", days=("added_at",))
    _coarsen("api_idempotency_keys", "key_hash", days=("created_at",), ends=("expires_at",))
    _coarsen("notifications", "id", days=("created_at",))


def downgrade():
    # The coarsened times stay coarse: what was not kept cannot be given back.
    for table in CLOCKS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("clock")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_not_before"))
        batch_op.drop_column("not_before")


