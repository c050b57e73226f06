"""Staff sessions kept server-side as well as in the signed cookie: signing out deletes the
row, so a copied cookie opens nothing afterwards, and every session ends after a fixed
time however active. Sessions signed in before this upgrade have no row and sign in again.

Revision ID: 0016_staff_sessions
Revises: 0015_pending_second_factor
Create Date: 2026-12-05 06:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0016_staff_sessions"
down_revision = "0015_pending_second_factor"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_staff_sessions_user_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
    )
    op.create_index(op.f("ix_staff_sessions_user_id"), "staff_sessions", ["user_id"])


def downgrade():
    op.drop_index(op.f("ix_staff_sessions_user_id"), table_name="staff_sessions")
    op.drop_table("staff_sessions")
