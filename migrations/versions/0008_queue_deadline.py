"""Queue dates: each case's nearest running deadline (and whose) and next funding check.

Revision ID: 0008_queue_deadline
Revises: 0007_custodian_admission
Create Date: 2026-11-25 13:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008_queue_deadline"
down_revision = "0007_custodian_admission"
branch_labels = None
depends_on = None

cases = sa.table(
    "cases",
    sa.column("id", sa.Integer),
    sa.column("state", sa.String),
    sa.column("openness", sa.String),
    sa.column("submitted_on", sa.Date),
    sa.column("next_deadline_on", sa.Date),
    sa.column("next_deadline_kind", sa.String),
    sa.column("funding_check_due_on", sa.Date),
)
case_clocks = sa.table(
    "case_clocks",
    sa.column("id", sa.Integer),
    sa.column("case_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("due_on", sa.Date),
    sa.column("paused_on", sa.Date),
    sa.column("met_on", sa.Date),
    sa.column("stopped_on", sa.Date),
)
funding_checks = sa.table(
    "funding_checks",
    sa.column("case_id", sa.Integer),
    sa.column("due_on", sa.Date),
    sa.column("status", sa.String),
)


def upgrade():
    op.add_column("cases", sa.Column("next_deadline_on", sa.Date(), nullable=True))
    op.add_column("cases", sa.Column("next_deadline_kind", sa.String(length=30), nullable=True))
    op.add_column("cases", sa.Column("funding_check_due_on", sa.Date(), nullable=True))
    op.execute(
        cases.update().values(
            next_deadline_on=sa.select(sa.func.min(case_clocks.c.due_on))
            .where(
                case_clocks.c.case_id == cases.c.id,
                case_clocks.c.met_on.is_(None),
                case_clocks.c.stopped_on.is_(None),
                case_clocks.c.paused_on.is_(None),
            )
            .scalar_subquery(),
            funding_check_due_on=sa.select(sa.func.min(funding_checks.c.due_on))
            .where(funding_checks.c.case_id == cases.c.id, funding_checks.c.status == "scheduled")
            .scalar_subquery(),
        )
    )
    # Whose deadline that is: the first made of the running clocks due that day.
    op.execute(
        cases.update()
        .where(cases.c.next_deadline_on.is_not(None))
        .values(
            next_deadline_kind=sa.select(case_clocks.c.kind)
            .where(
                case_clocks.c.case_id == cases.c.id,
                case_clocks.c.due_on == cases.c.next_deadline_on,
                case_clocks.c.met_on.is_(None),
                case_clocks.c.stopped_on.is_(None),
                case_clocks.c.paused_on.is_(None),
            )
            .order_by(case_clocks.c.id)
            .limit(1)
            .scalar_subquery()
        )
    )
    _fill_cases_without_clocks()
    # The live cases, in the queue's order (the condition is the queue statements' own).
    live = sa.text("keys_destroyed_on IS NULL AND state NOT IN ('closed', 'draft')")
    op.create_index(
        "ix_cases_queue",
        "cases",
        ["urgent", "next_deadline_on", "id", "state", "keys_destroyed_on", "funding_check_due_on"],
        sqlite_where=live,
        postgresql_where=live,
    )
    # The cases with keys and a funding check to do, by its date.
    check_to_do = sa.text("keys_destroyed_on IS NULL AND funding_check_due_on IS NOT NULL")
    op.create_index(
        "ix_cases_queue_funding_checks",
        "cases",
        ["funding_check_due_on", "keys_destroyed_on", "state", "urgent", "next_deadline_on"],
        sqlite_where=check_to_do,
        postgresql_where=check_to_do,
    )


def _fill_cases_without_clocks():
    """A case filed without clock rows runs the clocks it should have from its filing day
    (services/case_clocks.py): only the working-day calendar knows when they fall due, so
    this step asks the domain, as it stands at this revision."""
    from mediation.domain import clocks

    connection = op.get_bind()
    rows = connection.execute(
        sa.select(cases.c.id, cases.c.submitted_on, cases.c.openness).where(
            cases.c.state != "draft",
            ~sa.exists().where(case_clocks.c.case_id == cases.c.id),
        )
    ).all()
    due = []
    for case_id, filed, openness in rows:
        nearest = min(
            [
                clocks.start(clocks.ACKNOWLEDGE, filed, anonymous=openness == "anonymous"),
                clocks.start(clocks.FEEDBACK, filed),
            ],
            key=lambda clock: clock.due_on,
        )
        due.append({"case_id": case_id, "due": nearest.due_on, "kind": nearest.kind})
    if due:
        connection.execute(
            cases.update()
            .where(cases.c.id == sa.bindparam("case_id"))
            .values(next_deadline_on=sa.bindparam("due"), next_deadline_kind=sa.bindparam("kind")),
            due,
        )


def downgrade():
    op.drop_index("ix_cases_queue_funding_checks", table_name="cases")
    op.drop_index("ix_cases_queue", table_name="cases")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("funding_check_due_on")
        batch_op.drop_column("next_deadline_kind")
        batch_op.drop_column("next_deadline_on")
