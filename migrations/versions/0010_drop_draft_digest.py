"""Drop disclosure_statements.draft_digest, an unkeyed hash of each sealed draft.

Never read, it let anyone with the database confirm a guess about the sealed text.

Revision ID: 0010_drop_draft_digest
Revises: 0008_queue_deadline
Create Date: 2026-11-25 05:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010_drop_draft_digest"
down_revision = "0008_queue_deadline"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("disclosure_statements", schema=None) as batch_op:
        batch_op.drop_column("draft_digest")


def downgrade():
    # The digests are gone for good: the column comes back empty.
    with op.batch_alter_table("disclosure_statements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draft_digest", sa.String(length=64), nullable=True))
