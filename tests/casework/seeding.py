"""Seeding for tests outside this folder: a filed case the public body can see."""

from __future__ import annotations

from mediation.extensions import db
from mediation.models.staff import StaffUser
from mediation.services import complaints, disclosure_statements, triage
from mediation.services.accounts import actor_for
from mediation.services.workflow import perform

STATEMENT = "A grant was cut without the notice the Compact asks for."


def share_with_the_body(filed: complaints.Filed, officer: StaffUser) -> None:
    """Acknowledge, assess and have the complainant approve a statement. Caller commits."""
    case = filed.case
    for action in ("acknowledge", "start_triage"):
        perform(db.session, case, action, actor_for(officer), role="case_officer")
    assert case.respondent_body_id is not None
    triage.record_triage(
        db.session,
        officer,
        case,
        categories=["funding_change"],
        respondent_body_id=case.respondent_body_id,
    )
    disclosure_statements.save_draft(db.session, officer, case, STATEMENT)
    row = disclosure_statements.send_for_approval(db.session, officer, case)
    _, complainant = complaints.complainant_keypair(db.session, filed.reference, filed.passphrase)
    disclosure_statements.complainant_decides(
        db.session,
        case,
        complaints.complainant_case_key(case, complainant),
        row.id,
        approve=True,
        shown_digest=disclosure_statements.digest(STATEMENT),
    )
