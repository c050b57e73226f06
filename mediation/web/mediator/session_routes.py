"""Mediators: sessions and the papers due before them, the agreement to mediate, and the
standardised outcome of their cases."""

from __future__ import annotations

from flask import flash, render_template
from werkzeug.wrappers import Response

from mediation.domain.permissions import Permission
from mediation.extensions import database, db
from mediation.services import mediation_work, outcomes
from mediation.services.errors import ServiceError
from mediation.web.access import requires, signed_in_user
from mediation.web.casework.forms import OutcomeForm
from mediation.web.casework.routing_routes import _rating, _remedies
from mediation.web.mediator.forms import PapersForm, SessionForm, SignaturesForm
from mediation.web.mediator.routes import _back, _my_case, _refused, blueprint


def _first_error(form: SessionForm | PapersForm | SignaturesForm, reference: str) -> Response:
    flash(next(iter(form.errors.values()))[0], "error")
    return _back(reference, "#sessions")


@blueprint.route("/cases/<reference>/sessions", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def schedule(reference: str) -> Response:
    form = SessionForm()
    found = _my_case(reference)
    if not form.validate_on_submit() or form.held_on.data is None:
        return _first_error(form, reference)
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
        return _first_error(form, reference)
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
        return _first_error(form, reference)
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
    existing = outcomes.outcome_of(database(), found)
    data = {}
    if existing is not None:
        data = {
            "result": existing.result,
            "remedies": [r["id"] for r in existing.remedies],
            "sought": existing.sought,
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
            flash("Outcome recorded. A case officer closes the case.", "success")
            return _back(reference, "#outcome")
    return render_template("mediator/outcome.html", case=found, form=form, error=error)
