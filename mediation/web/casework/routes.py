"""The case officers' area: the queue, the case page, triage and workflow actions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from mediation.domain import workflow
from mediation.domain.permissions import Permission
from mediation.domain.taxonomy import load_taxonomy
from mediation.extensions import database, db
from mediation.models.bodies import RespondentBody
from mediation.services import case_access, case_files, case_queue, notifications, triage
from mediation.services.accounts import actor_for
from mediation.services.errors import ServiceError
from mediation.services.workflow import perform
from mediation.web.access import SignInAgain, current_keypair, requires, signed_in_user
from mediation.web.casework.forms import (
    ActionForm,
    ConfirmForm,
    DecisionForm,
    FundingCheckForm,
    MessageForm,
    NoteForm,
    QueueFilterForm,
    ReasonForm,
    StatementForm,
    TriageForm,
)

blueprint = Blueprint("casework", __name__, url_prefix="/casework")

# Officer actions with a page or form of their own rather than the generic action form.
OWN_FORMS = frozenset({"decline", "start_informal", "offer_mediation", "appoint_mediator", "close"})


@blueprint.after_app_request
def _deliver_notifications(response: Response) -> Response:
    """Send what this request queued, once it is committed; a complainant's email only in
    a case officer's request, whose key can open the address (see services.notifications)."""
    session = database()
    if not session.info.pop("outbox", False) or not notifications.mail_configured():
        return response
    officer_key = None
    try:
        if current_user.is_authenticated and current_user.role == "case_officer":
            officer_key = current_keypair()
    except SignInAgain:
        officer_key = None
    try:
        notifications.deliver_pending(session, officer_key=officer_key)
        db.session.commit()
    except Exception:  # mail must never break the page; `flask cases send-mail` retries
        db.session.rollback()
    return response


def body_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(RespondentBody.id, RespondentBody.name).order_by(RespondentBody.name)
    ).all()
    return [(0, "Choose a public body"), *((row.id, row.name) for row in rows)]


@blueprint.route("/")
@requires(Permission.VIEW_CASE_QUEUE)
def queue() -> str:
    form = QueueFilterForm(request.args)
    view = request.args.get("view", "all")
    filters = case_queue.QueueFilters(
        view=view if view in case_queue.VIEWS else "all",
        state=form.state.data or None,
        category=form.category.data or None,
        body_type=form.body_type.data or None,
        region=form.region.data or None,
    )
    result = case_queue.build_queue(database(), filters)
    return render_template(
        "casework/queue.html",
        queue=result,
        filters=filters,
        form=form,
        taxonomy=load_taxonomy(),
        views=case_queue.VIEWS,
    )


def _back(reference: str, anchor: str = "") -> Response:
    return redirect(url_for("casework.case", reference=reference) + anchor)


def _refused(exc: ServiceError, reference: str, anchor: str = "") -> Response:
    db.session.rollback()
    flash(str(exc), "error")
    return _back(reference, anchor)


@blueprint.route("/cases/<reference>")
@requires(Permission.VIEW_CASE_QUEUE)
def case(reference: str) -> Response | str:
    try:
        file = case_files.officer_file(database(), signed_in_user(), current_keypair(), reference)
    except case_access.CaseNotFound:
        abort(404)
    except ServiceError as exc:
        return render_template("errors/error.html", code=404, title="Case", message=str(exc))
    db.session.commit()  # the audit entry for opening the case
    triage_form = TriageForm(
        data={
            "categories": file.triage.categories if file.triage else file.claimed_categories,
            "respondent_body_id": file.case.respondent_body_id or 0,
            "language": file.triage.language if file.triage else "",
        }
    )
    triage_form.respondent_body_id.choices = body_choices()  # type: ignore[assignment]
    return render_template(
        "casework/case.html",
        file=file,
        triage_form=triage_form,
        decision_form=DecisionForm(expected_state=file.case.state),
        action_form=ActionForm(),
        statement_form=StatementForm(data={"text": file.statement.working_text}),
        message_form=MessageForm(),
        note_form=NoteForm(),
        funding_form=FundingCheckForm(),
        urgent_form=ReasonForm(),
        confirm_form=ConfirmForm(),
        generic_actions=[t for t in file.actions if t.action not in OWN_FORMS],
        open_for_triage=file.case.state in triage.OPEN_FOR_TRIAGE,
        taxonomy=load_taxonomy(),
        workflow=workflow,
    )


@blueprint.route("/cases/<reference>/triage", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def record_triage(reference: str) -> Response:
    form = TriageForm()
    form.respondent_body_id.choices = body_choices()  # type: ignore[assignment]
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0], "error")
        return _back(reference, "#triage")
    officer = signed_in_user()
    try:
        found = case_access.officer_case_metadata(database(), officer, reference)
        triage.record_triage(
            database(),
            officer,
            found,
            categories=list(form.categories.data or []),
            respondent_body_id=form.respondent_body_id.data or None,
            language=form.language.data,
        )
    except case_access.CaseNotFound:
        abort(404)
    except ServiceError as exc:
        return _refused(exc, reference, "#triage")
    db.session.commit()
    flash("Assessment saved.", "success")
    return _back(reference, "#triage")


@blueprint.route("/cases/<reference>/decision", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def decide(reference: str) -> Response:
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0], "error")
        return _back(reference, "#decision")
    officer = signed_in_user()
    try:
        found = case_access.officer_case_metadata(database(), officer, reference)
        planned = triage.decide(
            database(),
            officer,
            found,
            decision=form.decision.data or "",
            reason=form.reason.data or "",
            decline_reason=form.decline_reason.data or "",
            duplicate_of=form.duplicate_of.data or "",
            referred_to=form.referred_to.data or "",
            expected_state=form.expected_state.data or None,
        )
    except case_access.CaseNotFound:
        abort(404)
    except ServiceError as exc:
        return _refused(exc, reference, "#decision")
    db.session.commit()
    flash(
        f"Decision recorded: the case is now {workflow.state_label(planned.to_state).lower()}.",
        "success",
    )
    return _back(reference)


@blueprint.route("/cases/<reference>/action", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def act(reference: str) -> Response:
    form = ActionForm()
    if not form.validate_on_submit() or form.action.data in OWN_FORMS:
        flash("Choose an action from the case page.", "error")
        return _back(reference, "#actions")
    officer = signed_in_user()
    fields = {"reason": form.reason.data or "", "referred_to": form.referred_to.data or ""}
    try:
        found = case_access.officer_case_metadata(database(), officer, reference)
        planned = perform(
            database(),
            found,
            form.action.data or "",
            actor_for(officer),
            role="case_officer",
            fields=fields,
            expected_state=form.expected_state.data or None,
        )
    except case_access.CaseNotFound:
        abort(404)
    except ServiceError as exc:
        return _refused(exc, reference, "#actions")
    db.session.commit()
    flash(f"Done: {planned.transition.label.lower()}.", "success")
    return _back(reference)


# The other pages of the case officers' area register themselves on this blueprint.
from mediation.web.casework import case_work_routes, routing_routes  # noqa: E402,F401
