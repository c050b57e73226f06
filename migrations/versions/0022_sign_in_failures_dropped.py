"""Complainant sign-in failures leave the database: they are counted on gates in the shared
store (Redis), under keyed hashes made with a random key of the period that lives only
there, and expire with it. The rows kept here were keyed with the app's SECRET_KEY, so
anyone holding the database and instance/ could recover each client address by trying
every IPv4 address, and link it to the case reference typed from it. The rows go with the
table; a downgrade makes the table again, empty.

Revision ID: 0022
Revises: 0021_queue_changes
Create Date: 2026-12-08 00:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021_queue_changes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("complainant_sign_in_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complainant_sign_in_failures_key_hash"))
        batch_op.drop_index(batch_op.f("ix_complainant_sign_in_failures_failed_at"))
    op.drop_table("complainant_sign_in_failures")


def downgrade():
    op.create_table(
        "complainant_sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complainant_sign_in_failures")),
    )
    with op.batch_alter_table("complainant_sign_in_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complainant_sign_in_failures_failed_at"), ["failed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_complainant_sign_in_failures_key_hash"), ["key_hash"], unique=False
        )
