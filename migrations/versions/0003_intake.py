"""Intake: drafts, breaches, complainant sessions and sign-in attempts.

Revision ID: 0003_intake
Revises: 0002_cases
Create Date: 2026-11-25 00:50:00

"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0003_intake"
down_revision = "0002_cases"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
