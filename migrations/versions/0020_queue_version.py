"""The queue's version: one row that every committed INSERT, UPDATE or DELETE on the tables
the case officers' queue reads moves on by one, by trigger, so that a worker may keep a
queue page it has read for as long as the row stays as it was
(`mediation.services.queue_cache`). TRUNCATE, writes with triggers switched off and table
rewrites are not seen: restart the workers after any of them.

On PostgreSQL the triggers are deferred constraint triggers: the row is updated once a
transaction, at its commit, the last lock a writer takes, so that two writers never wait
on each other through it. On SQLite (one writer at a time) each write moves it on.

Revision ID: 0020_queue_version
Revises: 0019_sessions_waiting_index
Create Date: 2026-12-06 02:00:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0020_queue_version"
down_revision = "0019_sessions_waiting_index"
branch_labels = None
depends_on = None

# As mediation.models.cases.QUEUE_TABLES lists them (a migration does not import the app).
QUEUE_TABLES = (
    "cases",
    "case_breaches",
    "mediation_sessions",
    "respondent_bodies",
    "triage_records",
)
VERBS = ("INSERT", "UPDATE", "DELETE")

BUMP_FUNCTION = """
CREATE FUNCTION queue_version_bump() RETURNS trigger AS $$
BEGIN
    -- Once a transaction: the flag names the transaction that set it (so that no setting
    -- made for a whole session, role or database can stand for it), and is local to it.
    IF current_setting('mediation.queue_bumped', true) IS DISTINCT FROM txid_current()::text
    THEN
        UPDATE queue_version SET version = version + 1 WHERE id = 1;
        PERFORM set_config('mediation.queue_bumped', txid_current()::text, true);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def upgrade():
    table = op.create_table(
        "queue_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_version")),
    )
    op.bulk_insert(table, [{"id": 1, "token": secrets.token_hex(16), "version": 0}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BUMP_FUNCTION)
        for name in QUEUE_TABLES:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {name}_queue_version "
                f"AFTER {' OR '.join(VERBS)} ON {name} DEFERRABLE INITIALLY DEFERRED "
                "FOR EACH ROW EXECUTE FUNCTION queue_version_bump()"
            )
    else:
        for name in QUEUE_TABLES:
            for verb in VERBS:
                op.execute(
                    f"CREATE TRIGGER {name}_queue_version_{verb.lower()} AFTER {verb} ON {name} "
                    "BEGIN UPDATE queue_version SET version = version + 1 WHERE id = 1; END"
                )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in QUEUE_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_queue_version ON {name}")
        op.execute("DROP FUNCTION IF EXISTS queue_version_bump()")
    else:
        for name in QUEUE_TABLES:
            for verb in VERBS:
                op.execute(f"DROP TRIGGER IF EXISTS {name}_queue_version_{verb.lower()}")
    op.drop_table("queue_version")
