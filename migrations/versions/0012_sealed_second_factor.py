"""Authenticator secrets sealed to their user's own key: the column holds an envelope in
base64 ("sealed:..."), longer than the 64 characters a clear secret needed. Secrets
stored in the clear are sealed by the app the first time each is used.

Revision ID: 0012_sealed_second_factor
Revises: 0011_case_reasons
Create Date: 2026-11-25 08:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012_sealed_second_factor"
down_revision = "0011_case_reasons"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=64), type_=sa.Text(), existing_nullable=True
        )


def downgrade():
    # A sealed secret does not fit back: those users set up their authenticator again.
    op.execute("UPDATE staff_users SET totp_secret = NULL WHERE length(totp_secret) > 64")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.Text(), type_=sa.String(length=64), existing_nullable=True
        )
