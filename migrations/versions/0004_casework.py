"""Casework: triage, panel routing, clocks, disclosure statements, sessions, outcomes.

Revision ID: 0004_casework
Revises: 0003_intake
Create Date: 2026-11-25 00:50:00

"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0004_casework"
down_revision = "0003_intake"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
