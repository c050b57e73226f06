"""A new authenticator's secret, until its first code confirms it, kept in the database
sealed to its user's own key as a confirmed one is, rather than in the session cookie
(signed, but readable by whoever holds a copy of it).

Revision ID: 0015_pending_second_factor
Revises: 0014_case_owner_indexes
Create Date: 2026-12-05 05:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0015_pending_second_factor"
down_revision = "0014_case_owner_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_pending_secret", sa.Text(), nullable=True))


def downgrade():
    # A set-up waiting for its code starts again with a new key at the next sign-in.
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("totp_pending_secret")
