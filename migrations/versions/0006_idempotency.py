"""The JSON API's Idempotency-Key: keyed hashes only, for 24 hours.

Revision ID: 0006_idempotency
Revises: 0005_statistics
Create Date: 2026-11-26 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006_idempotency"
down_revision = "0005_statistics"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_idempotency_keys",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_api_idempotency_keys_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_api_idempotency_keys")),
    )
    with op.batch_alter_table("api_idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_idempotency_keys_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_api_idempotency_keys_expires_at"), ["expires_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("api_idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_idempotency_keys_expires_at"))
        batch_op.drop_index(batch_op.f("ix_api_idempotency_keys_case_id"))

    op.drop_table("api_idempotency_keys")
