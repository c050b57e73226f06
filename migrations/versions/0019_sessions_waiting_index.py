"""An index of the mediation sessions still waiting for a party's papers, by the day they
are held: the case queue finds the coming sessions whose papers are late among these
rather than reading every session ever held.

Revision ID: 0019_sessions_waiting_index
Revises: 0018_end_stranded_offers
Create Date: 2026-12-05 13:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0019_sessions_waiting_index"
down_revision = "0018_end_stranded_offers"
branch_labels = None
depends_on = None

# As mediation.models.casework.WAITING_FOR_PAPERS words it, for each engine.
PAPERS_MISSING = "(complainant_papers_on IS NULL OR respondent_papers_on IS NULL)"


def upgrade():
    op.create_index(
        "ix_mediation_sessions_waiting",
        "mediation_sessions",
        ["held_on", "papers_due_on", "case_id"],
        sqlite_where=sa.text(f"cancelled IS 0 AND {PAPERS_MISSING}"),
        postgresql_where=sa.text(f"cancelled IS false AND {PAPERS_MISSING}"),
    )


def downgrade():
    op.drop_index("ix_mediation_sessions_waiting", table_name="mediation_sessions")
