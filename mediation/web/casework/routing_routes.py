"""Case officers: offering a case to a mediator from the ranked panel, recording the
standardised outcome and closing the case."""

from __future__ import annotations

from flask import flash, render_template
from werkzeug.wrappers import Response

from mediation.domain.permissions import Permission
from mediation.extensions import database, db
from mediation.services import outcomes, routing
from mediation.services.errors import ServiceError
from mediation.vault import VaultError
from mediation.web import case_sections
from mediation.web.access import current_keypair, requires, signed_in_user
from mediation.web.casework.forms import ReasonForm, RoutingForm
from mediation.web.casework.routes import _back, _refused, blueprint, officer_case_or_404
from mediation.web.choices import select_choices


@blueprint.route("/cases/<reference>/routing", methods=["GET", "POST"])
@requires(Permission.TRIAGE_CASES)
def route_case(reference: str) -> Response | str:
    found = officer_case_or_404(reference)
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
    found = officer_case_or_404(reference)
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


@blueprint.route("/cases/<reference>/outcome", methods=["GET", "POST"])
@requires(Permission.TRIAGE_CASES)
def outcome(reference: str) -> Response | str:
    found = officer_case_or_404(reference)
    existing = outcomes.outcome_of(database(), found)
    form = case_sections.outcome_form(existing)
    error = None
    if form.validate_on_submit():
        error = case_sections.save_outcome(form, found)
        if error is None:
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
    found = officer_case_or_404(reference)
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
