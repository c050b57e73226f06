"""Bearer tokens for the JSON API, made by a public body's staff for their own case
system: only each token's hash is kept, with its owner, label and expiry.

Revision ID: 0017_staff_api_tokens
Revises: 0016_staff_sessions
Create Date: 2026-12-05 08:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0017_staff_api_tokens"
down_revision = "0016_staff_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_api_tokens",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_staff_api_tokens_user_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_api_tokens")),
    )
    op.create_index(op.f("ix_staff_api_tokens_user_id"), "staff_api_tokens", ["user_id"])


def downgrade():
    op.drop_index(op.f("ix_staff_api_tokens_user_id"), table_name="staff_api_tokens")
    op.drop_table("staff_api_tokens")
