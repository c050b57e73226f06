"""Statistics: immutable releases and the privacy budget.

Revision ID: 0005_statistics
Revises: 0004_casework
Create Date: 2026-11-25 00:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005_statistics"
down_revision = "0004_casework"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "statistics_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.String(length=24), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("period_kind", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("budget_year", sa.Integer(), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["staff_users.id"],
            name=op.f("fk_statistics_releases_published_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["statistics_releases.id"],
            name=op.f("fk_statistics_releases_supersedes_id_statistics_releases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_releases")),
        sa.UniqueConstraint("period", "version", name=op.f("uq_statistics_releases_period")),
        sa.UniqueConstraint("release_id", name=op.f("uq_statistics_releases_release_id")),
    )
    with op.batch_alter_table("statistics_releases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statistics_releases_budget_year"), ["budget_year"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_statistics_releases_period"), ["period"], unique=False)

    op.create_table(
        "statistics_symmetric_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("statistics_key_id", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["statistics_key_id"],
            ["statistics_keys.id"],
            name=op.f("fk_statistics_symmetric_keys_statistics_key_id_statistics_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_symmetric_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_statistics_symmetric_keys_key_id")),
    )
    with op.batch_alter_table("statistics_symmetric_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statistics_symmetric_keys_statistics_key_id"),
            ["statistics_key_id"],
            unique=False,
        )

    op.create_table(
        "organisation_digest_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("statistics_key_id", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["statistics_key_id"],
            ["statistics_keys.id"],
            name=op.f("fk_organisation_digest_keys_statistics_key_id_statistics_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_digest_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_organisation_digest_keys_key_id")),
        sa.UniqueConstraint(
            "statistics_key_id", name=op.f("uq_organisation_digest_keys_statistics_key_id")
        ),
    )
    op.create_table(
        "organisation_pseudonyms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name_digest", sa.String(length=64), nullable=False),
        sa.Column("digest_key_id", sa.String(length=32), nullable=False),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("record_key", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_pseudonyms")),
        sa.UniqueConstraint("name_digest", name=op.f("uq_organisation_pseudonyms_name_digest")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_organisation_pseudonyms_pseudonym")),
    )
    create_immutability_triggers()


def downgrade():
    drop_immutability_triggers()
    op.drop_table("organisation_pseudonyms")
    op.drop_table("organisation_digest_keys")
    with op.batch_alter_table("statistics_symmetric_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statistics_symmetric_keys_statistics_key_id"))
    op.drop_table("statistics_symmetric_keys")
    with op.batch_alter_table("statistics_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statistics_releases_period"))
        batch_op.drop_index(batch_op.f("ix_statistics_releases_budget_year"))
    op.drop_table("statistics_releases")


# A published release is never changed: a correction is a new version. The database
# refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL); the SHA-256 stored with each
# release catches anyone who disables the triggers and edits the content.
def create_immutability_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION statistics_release_immutable() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'a published statistics release is never changed; "
            "publish a correction'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER statistics_releases_immutable BEFORE UPDATE OR DELETE "
            "ON statistics_releases FOR EACH ROW EXECUTE FUNCTION statistics_release_immutable()"
        )
        op.execute(
            "CREATE TRIGGER statistics_releases_no_truncate BEFORE TRUNCATE "
            "ON statistics_releases FOR EACH STATEMENT "
            "EXECUTE FUNCTION statistics_release_immutable()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER statistics_releases_no_{verb.lower()} BEFORE {verb} "
                "ON statistics_releases BEGIN SELECT RAISE(ABORT, "
                "'a published statistics release is never changed; publish a correction'); END"
            )


def drop_immutability_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS statistics_releases_immutable ON statistics_releases")
        op.execute("DROP TRIGGER IF EXISTS statistics_releases_no_truncate ON statistics_releases")
        op.execute("DROP FUNCTION IF EXISTS statistics_release_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS statistics_releases_no_update")
        op.execute("DROP TRIGGER IF EXISTS statistics_releases_no_delete")
