"""Mediators: sessions and the papers due before them, the agreement to mediate, and the
standardised outcome of their cases."""

from __future__ import annotations

from flask import flash, render_template
from werkzeug.wrappers import Response

from mediation.domain.permissions import Permission
from mediation.extensions import database, db
from mediation.services import mediation_work, outcomes
from mediation.services.errors import ServiceError
from mediation.web import case_sections
from mediation.web.access import requires, signed_in_user
from mediation.web.mediator.forms import PapersForm, SessionForm, SignaturesForm
from mediation.web.mediator.routes import MEDIATOR_PAGE, _back, _my_case, _refused, blueprint


@blueprint.route("/cases/<reference>/sessions", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def schedule(reference: str) -> Response:
    form = SessionForm()
    found = _my_case(reference)
    if not form.validate_on_submit() or form.held_on.data is None:
        return MEDIATOR_PAGE.first_error(form, reference, "#sessions")
    try:
        mediation_work.schedule_session(
            database(),
            signed_in_user(),
            found,
            held_on=form.held_on.data,
            part_of_day=form.part_of_day.data or "",
            online=bool(form.online.data),
            place=form.place.data or "",
        )
    except ServiceError as exc:
        return _refused(exc, reference, "#sessions")
    db.session.commit()
    flash("Session arranged. Both parties are told, with the date their papers are due.", "success")
    return _back(reference, "#sessions")


@blueprint.route("/cases/<reference>/sessions/<int:session_id>/papers", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def papers(reference: str, session_id: int) -> Response:
    form = PapersForm()
    found = _my_case(reference)
    if not form.validate_on_submit() or form.received_on.data is None:
        return MEDIATOR_PAGE.first_error(form, reference, "#sessions")
    try:
        mediation_work.record_papers(
            database(),
            signed_in_user(),
            found,
            session_id,
            form.party.data or "",
            form.received_on.data,
        )
    except ServiceError as exc:
        return _refused(exc, reference, "#sessions")
    db.session.commit()
    flash("Papers recorded.", "success")
    return _back(reference, "#sessions")


@blueprint.route("/cases/<reference>/sessions/<int:session_id>/cancel", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def cancel_session(reference: str, session_id: int) -> Response:
    found = _my_case(reference)
    try:
        mediation_work.cancel_session(database(), signed_in_user(), found, session_id)
    except ServiceError as exc:
        return _refused(exc, reference, "#sessions")
    db.session.commit()
    flash("Session cancelled. Both parties are told.", "success")
    return _back(reference, "#sessions")


@blueprint.route("/cases/<reference>/agreement-to-mediate", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def signatures(reference: str) -> Response:
    form = SignaturesForm()
    found = _my_case(reference)
    if not form.validate_on_submit():
        return MEDIATOR_PAGE.first_error(form, reference, "#sessions")
    try:
        mediation_work.record_signatures(
            database(),
            signed_in_user(),
            found,
            complainant_signed_on=form.complainant_signed_on.data,
            respondent_signed_on=form.respondent_signed_on.data,
        )
    except ServiceError as exc:
        return _refused(exc, reference, "#agreement-to-mediate")
    db.session.commit()
    flash("Signatures recorded.", "success")
    return _back(reference, "#agreement-to-mediate")


@blueprint.route("/cases/<reference>/outcome", methods=["GET", "POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def outcome(reference: str) -> Response | str:
    found = _my_case(reference)
    form = case_sections.outcome_form(outcomes.outcome_of(database(), found))
    error = None
    if form.validate_on_submit():
        error = case_sections.save_outcome(form, found)
        if error is None:
            flash("Outcome recorded. A case officer closes the case.", "success")
            return _back(reference, "#outcome")
    return render_template("mediator/outcome.html", case=found, form=form, error=error)
