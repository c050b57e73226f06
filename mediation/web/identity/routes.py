"""Identity disclosure in the browser: every step is a person's decision with a reason."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from mediation.domain.permissions import Permission
from mediation.extensions import database, db
from mediation.models.cases import Case, IdentityRequest
from mediation.models.staff import StaffUser
from mediation.services import case_access, identity_access, vault_admin
from mediation.services.errors import ServiceError
from mediation.vault import VaultError
from mediation.web.access import current_keypair, requires, signed_in_user
from mediation.web.identity.forms import DecisionForm, ReasonForm

blueprint = Blueprint("identity", __name__, url_prefix="/identity")


def _case(reference: str) -> Case:
    """The case if the signed-in user may use its identity pages; otherwise the same bare
    404 as for a reference that does not exist, so that no one learns which cases exist."""
    try:
        return case_access.identity_case(database(), signed_in_user(), reference)
    except case_access.CaseNotFound:
        abort(404)


@blueprint.route("/requests")
@requires(Permission.APPROVE_IDENTITY_ACCESS)
def requests() -> str:
    rows = db.session.execute(
        select(IdentityRequest, Case, StaffUser)
        .join(Case, Case.id == IdentityRequest.case_id)
        .join(StaffUser, StaffUser.id == IdentityRequest.mediator_id)
        .where(IdentityRequest.status == "pending")
        .order_by(IdentityRequest.id)
    ).all()
    return render_template("identity/requests.html", rows=rows)


@blueprint.route("/requests/<int:request_id>", methods=["GET", "POST"])
@requires(Permission.APPROVE_IDENTITY_ACCESS)
def decide(request_id: int) -> Response | str:
    request = db.session.get(IdentityRequest, request_id)
    if request is None:
        abort(404)
    case = db.session.get(Case, request.case_id)
    mediator = db.session.get(StaffUser, request.mediator_id)
    form = DecisionForm()
    error = None
    if form.validate_on_submit():
        try:
            identity_access.decide_identity_request(
                database(),
                signed_in_user(),
                current_keypair(),
                request_id,
                approve=form.decision.data == "approve",
                reason=form.reason.data or "",
            )
        except (ServiceError, VaultError) as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash("Your decision is recorded.", "success")
            return redirect(url_for("identity.requests"))
    return render_template(
        "identity/decide.html",
        form=form,
        error=error,
        request=request,
        request_reason=identity_access.request_reason_for(case, request, current_keypair())
        if case is not None
        else "",
        case=case,
        mediator=mediator,
    )


@blueprint.route("/cases/<reference>/request", methods=["GET", "POST"])
@requires(Permission.REQUEST_IDENTITY_ACCESS)
def ask(reference: str) -> Response | str:
    case = _case(reference)
    form = ReasonForm()
    error = None
    if form.validate_on_submit():
        try:
            identity_access.request_identity(
                database(), signed_in_user(), case, form.reason.data or ""
            )
        except ServiceError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash("Your request has been sent to the case officers.", "success")
            return redirect(url_for("identity.view", reference=case.reference))
    return render_template("identity/ask.html", form=form, error=error, case=case)


@blueprint.route("/cases/<reference>", methods=["GET", "POST"])
@requires(Permission.READ_CASE_CONTENT)
def view(reference: str) -> Response | str:
    """Show who complained, once, after a reason is given; the view is logged."""
    case = _case(reference)
    user = signed_in_user()
    form = ReasonForm()
    error = None
    identity = None
    if form.validate_on_submit():
        try:
            identity = identity_access.read_identity(
                database(), user, current_keypair(), case, form.reason.data or ""
            )
        except (ServiceError, VaultError) as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
    return render_template(
        "identity/view.html", form=form, error=error, case=case, identity=identity
    )


@blueprint.route("/custody", methods=["GET", "POST"])
@requires(Permission.HOLD_VAULT_CUSTODY)
def custody() -> Response | str:
    """Colleagues who hold no key to some cases yet (new case officers, password resets)."""
    waiting = vault_admin.users_missing_keys(database())
    return render_template("identity/custody.html", waiting=waiting)


@blueprint.route("/custody/<int:user_id>", methods=["POST"])
@requires(Permission.HOLD_VAULT_CUSTODY)
def reseal(user_id: int) -> Response:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    try:
        result = vault_admin.reseal_for_user(database(), signed_in_user(), current_keypair(), user)
    except (ServiceError, VaultError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(
            f"{user.name} now holds {result.grants} more keys on {result.cases} cases.", "success"
        )
    return redirect(url_for("identity.custody"))
