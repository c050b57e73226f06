"""The queue's changes: beside moving the queue's version on, each write to a table the
case officers' queue reads notes which case it touched, at the version it moved to, so
that a worker holding the queue (`mediation.services.queue_replica`) reads again only the
cases written since the version it holds rather than the whole queue. A write to a public
body notes no case (NULL): every case of the body may show it, so the worker reads the
whole queue again. The version row also names the one case its latest version's writes
touched (`only_case`; NULL when they touched none, or more than one), so that a worker one
version behind, the common case, reads that case without reading the notes.

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
    sole integer;
    touched integer;  -- the case this row is of; NULL for a public body
    other integer;  -- the case it was of before an UPDATE, when not the same
BEGIN
    IF TG_TABLE_NAME = 'cases' THEN
        IF TG_OP = 'DELETE' THEN touched := OLD.id; ELSE touched := NEW.id; END IF;
    ELSIF TG_TABLE_NAME <> 'respondent_bodies' THEN
        IF TG_OP = 'DELETE' THEN touched := OLD.case_id; ELSE touched := NEW.case_id; END IF;
        IF TG_OP = 'UPDATE' AND OLD.case_id IS DISTINCT FROM NEW.case_id THEN
            other := OLD.case_id;
        END IF;
    END IF;
    -- Once a transaction: the flag names the transaction that set it (so that no setting
    -- made for a whole session, role or database can stand for it), and is local to it.
    IF current_setting('mediation.queue_bumped', true) IS DISTINCT FROM txid_current()::text
    THEN
        UPDATE queue_version
            SET version = version + 1,
                only_case = CASE WHEN other IS NULL THEN touched END
            WHERE id = 1
            RETURNING version INTO moved_to;
        PERFORM set_config('mediation.queue_bumped', txid_current()::text, true);
        DELETE FROM queue_changes WHERE version < moved_to - {KEEP};
    ELSE
        SELECT version, only_case INTO moved_to, sole FROM queue_version WHERE id = 1;
        IF sole IS NOT NULL AND (touched IS DISTINCT FROM sole OR other IS NOT NULL) THEN
            UPDATE queue_version SET only_case = NULL WHERE id = 1;
        END IF;
    END IF;
    IF moved_to IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO queue_changes (version, case_id) VALUES (moved_to, touched);
    IF other IS NOT NULL THEN
        INSERT INTO queue_changes (version, case_id) VALUES (moved_to, other);
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
    if not noting:  # migration 0020's
        body = "UPDATE queue_version SET version = version + 1 WHERE id = 1;"
    else:
        column = CASE_COLUMNS[table]
        rows = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}[verb]
        if column is None or table == "cases":
            rows = rows[-1:]  # a case's id never changes; a body's write notes no case
        touched = [("NULL" if column is None else f"{row}.{column}") for row in rows]
        # Each write moves the version on: the only case it touched, unless it moved a
        # row from one case to another.
        only = touched[0] if len(touched) == 1 else (
            f"CASE WHEN {touched[0]} = {touched[1]} THEN {touched[1]} END"
        )
        body = f"UPDATE queue_version SET version = version + 1, only_case = {only} WHERE id = 1;"
        for case_id in touched:
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
    op.add_column("queue_version", sa.Column("only_case", sa.Integer(), nullable=True))
    op.create_table(
        "queue_changes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
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
    # Plain ALTER TABLE on both (SQLite 3.35 and later): a batch copy of the table would
    # break the triggers that name it while it is renamed.
    op.execute("ALTER TABLE queue_version DROP COLUMN only_case")
