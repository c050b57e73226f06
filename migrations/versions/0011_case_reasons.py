"""Staff reasons in the audit log kept sealed in a table of their own (case_reasons), so
that `vault rotate` re-seals them and the retention purge destroys them; the audit entry
keeps the row's id and a salted commitment to the text.

Revision ID: 0011_case_reasons
Revises: 0010_drop_draft_digest
Create Date: 2026-11-25 08:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011_case_reasons"
down_revision = "0010_drop_draft_digest"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "case_reasons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_reasons_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reasons")),
    )
    with op.batch_alter_table("case_reasons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_reasons_case_id"), ["case_id"], unique=False)


def downgrade():
    # Audit entries that refer to a row here can no longer be opened after this.
    with op.batch_alter_table("case_reasons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_reasons_case_id"))
    op.drop_table("case_reasons")
