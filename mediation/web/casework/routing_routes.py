"""Case officers: offering a case to a mediator from the ranked panel, recording the
standardised outcome and closing the case."""

from __future__ import annotations

from flask import abort, flash, render_template
from werkzeug.wrappers import Response

from mediation.domain.permissions import Permission
from mediation.domain.taxonomy import load_taxonomy
from mediation.extensions import database, db
from mediation.models.cases import Case
from mediation.services import case_access, outcomes, routing
from mediation.services.errors import ServiceError
from mediation.vault import VaultError
from mediation.web.access import current_keypair, requires, signed_in_user
from mediation.web.casework.forms import OutcomeForm, ReasonForm, RoutingForm
from mediation.web.casework.routes import _back, _refused, blueprint
from mediation.web.choices import select_choices


def _case(reference: str) -> Case:
    try:
        return case_access.officer_case_metadata(database(), signed_in_user(), reference)
    except case_access.CaseNotFound:
        abort(404)


@blueprint.route("/cases/<reference>/routing", methods=["GET", "POST"])
@requires(Permission.TRIAGE_CASES)
def route_case(reference: str) -> Response | str:
    found = _case(reference)
    officer = signed_in_user()
    try:
        ranking = routing.rank_for_case(database(), officer, current_keypair(), found)
    except (ServiceError, VaultError) as exc:
        return _refused(ServiceError(str(exc)), reference)
    db.session.commit()  # the ranking's audit entry (it opened the identity in memory)
    form = RoutingForm(expected_state=found.state)
    form.mediator_id.choices = select_choices([(p.user_id, p.name) for p in ranking.proposals])
    error = None
    if form.validate_on_submit():
        try:
            routing.propose(
                database(),
                officer,
                current_keypair(),
                found,
                mediator_id=form.mediator_id.data or 0,
                summary=form.summary.data or "",
                expected_state=form.expected_state.data or None,
            )
        except ServiceError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash("The case has been offered. The mediator sees the summary first.", "success")
            return _back(reference)
    return render_template(
        "casework/routing.html", case=found, ranking=ranking, form=form, error=error
    )


@blueprint.route("/cases/<reference>/routing/cancel", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def cancel_offer(reference: str) -> Response:
    form = ReasonForm()
    found = _case(reference)
    try:
        routing.cancel(
            database(),
            signed_in_user(),
            found,
            form.reason.data or "",
            expected_state=form.expected_state.data or None,
        )
    except ServiceError as exc:
        return _refused(exc, reference, "#mediator")
    db.session.commit()
    flash("The offer was taken back.", "success")
    return _back(reference)


def _remedies(form: OutcomeForm) -> list[outcomes.RemedyInput]:
    taxonomy = load_taxonomy()
    chosen = []
    for remedy_id in form.remedies.data or []:
        amount = form.payment_amount.data if taxonomy.remedy(remedy_id).has_amount else None
        chosen.append(outcomes.RemedyInput(remedy_id, amount))
    return chosen


def _rating(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@blueprint.route("/cases/<reference>/outcome", methods=["GET", "POST"])
@requires(Permission.TRIAGE_CASES)
def outcome(reference: str) -> Response | str:
    found = _case(reference)
    existing = outcomes.outcome_of(database(), found)
    data = {}
    if existing is not None:
        data = {
            "result": existing.result,
            "remedies": [r["id"] for r in existing.remedies],
            "payment_amount": next(
                (r.get("amount") for r in existing.remedies if r.get("amount")), None
            ),
            "sought": existing.sought,
            "relationship_before": str(existing.relationship_before or ""),
            "relationship_after": str(existing.relationship_after or ""),
        }
    form = OutcomeForm(data=data)
    error = None
    if form.validate_on_submit():
        try:
            outcomes.record_outcome(
                database(),
                signed_in_user(),
                found,
                result=form.result.data or "",
                remedies=_remedies(form),
                sought=list(form.sought.data or []),
                relationship_before=_rating(form.relationship_before.data),
                relationship_after=_rating(form.relationship_after.data),
            )
        except ServiceError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash("Outcome recorded.", "success")
            return _back(reference, "#outcome")
    return render_template(
        "casework/outcome.html",
        case=found,
        form=form,
        error=error,
        close_form=ReasonForm(expected_state=found.state),
        existing=existing,
    )


@blueprint.route("/cases/<reference>/close", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def close(reference: str) -> Response:
    form = ReasonForm()
    found = _case(reference)
    try:
        outcomes.close_case(
            database(),
            signed_in_user(),
            found,
            reason=form.reason.data or "",
            expected_state=form.expected_state.data or None,
        )
    except ServiceError as exc:
        return _refused(exc, reference, "#outcome")
    db.session.commit()
    flash("The case is closed. Funding checks are scheduled at 3 and 12 months.", "success")
    return _back(reference)
