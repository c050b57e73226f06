"""End mediator offers left waiting on cases that moved on (data only).

Before the workflow ended them (routing.end_offers_left_behind), an offer stayed "offered"
or "accepted" when its case was withdrawn or declined by the public body: the mediator
counted it among their cases for good and kept the key sealed for them. Each is cancelled
here as the workflow now does it (routing._release): the pending key cleared, the
mediator's sealed copies of the case's keys destroyed, and the case's mediator and the
parties' signatures to mediate with them cleared. Nothing to undo on downgrade.

Revision ID: 0018_end_stranded_offers
Revises: 0017_staff_api_tokens
Create Date: 2026-12-05 09:00:00

"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0018_end_stranded_offers"
down_revision = "0017_staff_api_tokens"
branch_labels = None
depends_on = None

# Where an offer may wait (routing.OFFER_WAITS), and what a waiting offer's status is.
OFFER_WAITS = ("mediator_appointed", "on_hold")
LIVE = ("offered", "accepted")


def upgrade():
    bind = op.get_bind()
    stranded = bind.execute(
        sa.text(
            "SELECT o.id, o.case_id, o.mediator_id, c.mediator_id FROM mediator_offers o "
            "JOIN cases c ON c.id = o.case_id "
            "WHERE o.status IN :live AND c.state NOT IN :waits"
        ).bindparams(sa.bindparam("live", expanding=True), sa.bindparam("waits", expanding=True)),
        {"live": list(LIVE), "waits": list(OFFER_WAITS)},
    ).all()
    for offer_id, case_id, mediator_id, case_mediator_id in stranded:
        bind.execute(
            sa.text(
                "UPDATE mediator_offers SET status = 'cancelled', answered_on = :today, "
                "pending_case_key = NULL WHERE id = :id"
            ),
            {"today": date.today(), "id": offer_id},
        )
        bind.execute(
            sa.text(
                "DELETE FROM sealed_keys WHERE case_id = :case_id "
                "AND holder_kind = 'staff' AND holder_user_id = :user_id"
            ),
            {"case_id": case_id, "user_id": mediator_id},
        )
        if case_mediator_id == mediator_id:
            bind.execute(
                sa.text("UPDATE cases SET mediator_id = NULL WHERE id = :case_id"),
                {"case_id": case_id},
            )
            bind.execute(
                sa.text(
                    "UPDATE agreements_to_mediate SET complainant_signed_on = NULL, "
                    "respondent_signed_on = NULL WHERE case_id = :case_id"
                ),
                {"case_id": case_id},
            )


def downgrade():
    pass  # data only: the offers stay ended
