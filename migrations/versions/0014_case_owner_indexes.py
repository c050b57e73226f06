"""Indexes for a mediator's cases and a public body's cases (among those with keys), so
that their pages read their own cases rather than every case the service ever had.

Revision ID: 0014_case_owner_indexes
Revises: 0013_funding_check_index_id
Create Date: 2026-12-04 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014_case_owner_indexes"
down_revision = "0013_funding_check_index_id"
branch_labels = None
depends_on = None

HAS_KEYS = sa.text("keys_destroyed_on IS NULL")
INDEXES = {
    "ix_cases_mediator": ["mediator_id", "submitted_on"],
    "ix_cases_respondent_body": ["respondent_body_id"],
}


def upgrade():
    for name, columns in INDEXES.items():
        op.create_index(name, "cases", columns, sqlite_where=HAS_KEYS, postgresql_where=HAS_KEYS)


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="cases")
