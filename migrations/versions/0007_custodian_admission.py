"""Custodian admission: a case officer's key holds new cases only once admitted.

Revision ID: 0007_custodian_admission
Revises: 0006_idempotency
Create Date: 2026-11-25 12:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007_custodian_admission"
down_revision = "0006_idempotency"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("admitted_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_staff_keys_admitted_by_id_staff_users"),
            "staff_users",
            ["admitted_by_id"],
            ["id"],
        )
    # The case officers' keys that already held cases were custodians' keys: keep them so.
    op.execute(
        "UPDATE staff_keys SET admitted_at = created_at WHERE retired_at IS NULL AND user_id IN "
        "(SELECT id FROM staff_users WHERE role = 'case_officer')"
    )


def downgrade():
    with op.batch_alter_table("staff_keys", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_staff_keys_admitted_by_id_staff_users"), type_="foreignkey"
        )
        batch_op.drop_column("admitted_by_id")
        batch_op.drop_column("admitted_at")
