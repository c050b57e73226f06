"""The queue's changes: beside moving the queue's version on, each write to a table the
case officers' queue reads notes which case it touched, at the version it moved to, so
that a worker holding the queue (`mediation.services.queue_replica`) reads again only the
cases written since the version it holds rather than the whole queue. A write to a public
body notes no case (NULL): every case of the body may show it, so the worker reads the
whole queue again.

The notes of the last KEEP versions are kept; a worker further behind reads everything.
On PostgreSQL the deferred triggers of migration 0020 write them at commit, after the
version row is locked and moved on, so versions (and their notes) follow the order in
which transactions commit.

Revision ID: 0021_queue_changes
Revises: 0020_queue_version
Create Date: 2026-12-06 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0021_queue_changes"
down_revision = "0020_queue_version"
branch_labels = None
depends_on = None

KEEP = 10000  # as mediation.models.cases.QUEUE_CHANGES_KEPT
# As mediation.models.cases.QUEUE_TABLES lists them, with the column naming the case.
CASE_COLUMNS = {
    "cases": "id",
    "case_breaches": "case_id",
    "mediation_sessions": "case_id",
    "respondent_bodies": None,
    "triage_records": "case_id",
}
VERBS = ("INSERT", "UPDATE", "DELETE")

BUMP_FUNCTION = f"""
CREATE OR REPLACE FUNCTION queue_version_bump() RETURNS trigger AS $$
DECLARE
    moved_to bigint;
BEGIN
    -- Once a transaction: the flag names the transaction that set it (so that no setting
    -- made for a whole session, role or database can stand for it), and is local to it.
    IF current_setting('mediation.queue_bumped', true) IS DISTINCT FROM txid_current()::text
    THEN
        UPDATE queue_version SET version = version + 1 WHERE id = 1
            RETURNING version INTO moved_to;
        PERFORM set_config('mediation.queue_bumped', txid_current()::text, true);
        DELETE FROM queue_changes WHERE version < moved_to - {KEEP};
    ELSE
        SELECT version INTO moved_to FROM queue_version WHERE id = 1;
    END IF;
    IF moved_to IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'respondent_bodies' THEN
        INSERT INTO queue_changes (version, case_id) VALUES (moved_to, NULL);
    ELSIF TG_TABLE_NAME = 'cases' THEN
        IF TG_OP = 'DELETE' THEN
            INSERT INTO queue_changes (version, case_id) VALUES (moved_to, OLD.id);
        ELSE
            INSERT INTO queue_changes (version, case_id) VALUES (moved_to, NEW.id);
        END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO queue_changes (version, case_id) VALUES (moved_to, OLD.case_id);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO queue_changes (version, case_id) VALUES (moved_to, NEW.case_id);
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

# Migration 0020's function, put back on downgrade.
PREVIOUS_FUNCTION = """
CREATE OR REPLACE FUNCTION queue_version_bump() RETURNS trigger AS $$
BEGIN
    IF current_setting('mediation.queue_bumped', true) IS DISTINCT FROM txid_current()::text
    THEN
        UPDATE queue_version SET version = version + 1 WHERE id = 1;
        PERFORM set_config('mediation.queue_bumped', txid_current()::text, true);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def _sqlite_trigger(table: str, verb: str, *, noting: bool) -> str:
    body = "UPDATE queue_version SET version = version + 1 WHERE id = 1;"
    if noting:
        column = CASE_COLUMNS[table]
        rows = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}[verb]
        if column is None or table == "cases":
            rows = rows[-1:]  # a case's id never changes; a body's write notes no case
        for row in rows:
            case_id = "NULL" if column is None else f"{row}.{column}"
            body += (
                " INSERT INTO queue_changes (version, case_id)"
                f" SELECT version, {case_id} FROM queue_version WHERE id = 1;"
            )
        body += (
            " DELETE FROM queue_changes WHERE version <"
            f" (SELECT version FROM queue_version WHERE id = 1) - {KEEP};"
        )
    return (
        f"CREATE TRIGGER {table}_queue_version_{verb.lower()} AFTER {verb} ON {table} "
        f"BEGIN {body} END"
    )


def _replace_sqlite_triggers(*, noting: bool) -> None:
    for table in CASE_COLUMNS:
        for verb in VERBS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_queue_version_{verb.lower()}")
            op.execute(_sqlite_trigger(table, verb, noting=noting))


def upgrade():
    op.create_table(
        "queue_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_changes")),
    )
    op.create_index(
        "ix_queue_changes_version", "queue_changes", ["version", "case_id"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BUMP_FUNCTION)
    else:
        _replace_sqlite_triggers(noting=True)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS_FUNCTION)
    else:
        _replace_sqlite_triggers(noting=False)
    op.drop_index("ix_queue_changes_version", table_name="queue_changes")
    op.drop_table("queue_changes")
