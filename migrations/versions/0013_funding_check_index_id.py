"""The funding-check queue index also holds each case's id, so the queue reads the closed
cases with a check due from the index alone (PostgreSQL read each one's row before).

Revision ID: 0013_funding_check_index_id
Revises: 0012_sealed_second_factor
Create Date: 2026-11-25 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0013_funding_check_index_id"
down_revision = "0012_sealed_second_factor"
branch_labels = None
depends_on = None

CHECK_TO_DO = sa.text("keys_destroyed_on IS NULL AND funding_check_due_on IS NOT NULL")
COLUMNS = ["funding_check_due_on", "keys_destroyed_on", "state", "urgent", "next_deadline_on"]


def _replace(columns):
    op.drop_index("ix_cases_queue_funding_checks", table_name="cases")
    op.create_index(
        "ix_cases_queue_funding_checks",
        "cases",
        columns,
        sqlite_where=CHECK_TO_DO,
        postgresql_where=CHECK_TO_DO,
    )


def upgrade():
    _replace([*COLUMNS, "id"])


def downgrade():
    _replace(COLUMNS)
