"""Drop intake_draft_documents.size, a draft file's exact size kept in the clear.

The contents are sealed padded now, and the exact size is sealed with the file's name; a
file attached before keeps its size in its contents, sealed unpadded then.

Revision ID: 0023
Revises: 0021_queue_changes
Create Date: 2026-12-08 00:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("intake_draft_documents", schema=None) as batch_op:
        batch_op.drop_column("size")


def downgrade():
    # The exact sizes are sealed now: the column comes back with each sealed content's
    # length, an upper bound within the padding and the envelope's few bytes.
    with op.batch_alter_table("intake_draft_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("size", sa.Integer(), nullable=True))
    op.execute("UPDATE intake_draft_documents SET size = length(sealed_content)")
    with op.batch_alter_table("intake_draft_documents", schema=None) as batch_op:
        batch_op.alter_column("size", existing_type=sa.Integer(), nullable=False)
