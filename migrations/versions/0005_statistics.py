"""Statistics: immutable releases and the privacy budget.

Revision ID: 0005_statistics
Revises: 0004_casework
Create Date: 2026-11-25 00:50:00

"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0005_statistics"
down_revision = "0004_casework"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
