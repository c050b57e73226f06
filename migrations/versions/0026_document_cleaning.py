"""What was removed from a complainant's document before it was sealed (or why it was kept
as sent), sealed beside the document's name: on case documents and on a draft's files.

Revision ID: 0026
Revises: 0021_queue_changes
Create Date: 2026-12-08 00:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cleaning", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("intake_draft_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_cleaning", sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table("intake_draft_documents", schema=None) as batch_op:
        batch_op.drop_column("sealed_cleaning")
    with op.batch_alter_table("case_documents", schema=None) as batch_op:
        batch_op.drop_column("cleaning")
