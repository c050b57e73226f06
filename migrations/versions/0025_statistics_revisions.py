"""Statistics revisions and organisation record keys.

Each release keeps, sealed under the symmetric statistics key in a table beside it (the
release row is never changed; these are re-sealed at a key rotation), how many
organisations each of its cells counted, so that a later release sharing cells with it can
be checked against the revisions policy (mediation/domain/statistics_revisions.py).
Releases published before have none.

An organisation pseudonym's record key was its first case's, which is stored readable
beside that case: the pair named the case that made the pseudonym. Each is replaced by a
fresh random key, one per organisation (the row is the organisation), independent of any
case. The cases already linked keep the old key inside their sealed records, which no one
without the statistics key can read.

Revision ID: 0025
Revises: 0021_queue_changes
Create Date: 2026-12-08 00:30:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "statistics_release_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["statistics_releases.id"],
            name=op.f("fk_statistics_release_counts_release_id_statistics_releases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_release_counts")),
        sa.UniqueConstraint("release_id", name=op.f("uq_statistics_release_counts_release_id")),
    )
    bind = op.get_bind()
    pseudonyms = sa.table(
        "organisation_pseudonyms", sa.column("id", sa.Integer), sa.column("record_key", sa.Integer)
    )
    ids = [row[0] for row in bind.execute(sa.select(pseudonyms.c.id))]
    for row_id in ids:
        bind.execute(
            pseudonyms.update()
            .where(pseudonyms.c.id == row_id)
            .values(record_key=secrets.randbelow(2**31))
        )


def downgrade():
    # The old keys are not put back: they named their organisations' first cases.
    op.drop_table("statistics_release_counts")
