"""The mediators' area: offers (anonymised first), and the workspace of their own cases."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from mediation.domain import workflow
from mediation.domain.permissions import Permission
from mediation.domain.taxonomy import load_taxonomy
from mediation.extensions import database, db
from mediation.models.cases import Case
from mediation.request_transactions import commit_and_keep_loaded
from mediation.services import (
    case_access,
    case_files,
    mediation_work,
    routing,
)
from mediation.services.errors import ServiceError
from mediation.web import case_sections
from mediation.web.access import current_keypair, requires, signed_in_user
from mediation.web.case_sections import CasePage
from mediation.web.casework.forms import ConfirmForm, MessageForm, NoteForm, StatementForm
from mediation.web.mediator.forms import (
    DeclareForm,
    MediatorActionForm,
    OfferAnswerForm,
    PapersForm,
    SessionForm,
    SignaturesForm,
)

blueprint = Blueprint("mediator", __name__, url_prefix="/mediator")


@blueprint.route("/")
@requires(Permission.WORK_ASSIGNED_CASES)
def cases() -> str:
    mine = case_files.mediator_cases(database(), signed_in_user())
    return render_template(
        "mediator/cases.html", mine=mine, workflow=workflow, taxonomy=load_taxonomy()
    )


MEDIATOR_PAGE = CasePage("mediator.case")
_back = MEDIATOR_PAGE.back
_refused = MEDIATOR_PAGE.refused


def _offered_case(reference: str) -> Case:
    """A case offered to the signed-in mediator (before it is theirs), or 404: for anyone
    else, before any service is asked, so that a refusal cannot tell them the case exists
    or what state it is in."""
    try:
        found = case_access.find(database(), reference)
    except case_access.CaseNotFound:
        abort(404)
    if routing.live_offer(database(), found, signed_in_user().id) is None:
        abort(404)
    return found


def _my_case(reference: str) -> Case:
    """A case assigned to the signed-in mediator, or 404 for anyone else."""
    try:
        found = case_access.find(database(), reference)
    except case_access.CaseNotFound:
        abort(404)
    if found.mediator_id != signed_in_user().id:
        abort(404)
    return found


@blueprint.route("/cases/<reference>")
@requires(Permission.WORK_ASSIGNED_CASES)
def case(reference: str) -> str:
    try:
        view = case_files.mediator_view(database(), signed_in_user(), current_keypair(), reference)
    except case_access.CaseNotFound:
        abort(404)
    commit_and_keep_loaded(database())  # the audit entry for opening the case
    if isinstance(view, case_files.OfferView):
        return render_template(
            "mediator/offer.html",
            view=view,
            answer_form=OfferAnswerForm(),
            declare_form=DeclareForm(),
            taxonomy=load_taxonomy(),
        )
    return render_template(
        "mediator/workspace.html",
        file=view,
        statement_form=StatementForm(data={"text": view.statement.working_text}),
        message_form=MessageForm(),
        note_form=NoteForm(),
        confirm_form=ConfirmForm(),
        session_form=SessionForm(),
        papers_form=PapersForm(),
        signatures_form=SignaturesForm(),
        action_form=MediatorActionForm(),
        taxonomy=load_taxonomy(),
        workflow=workflow,
    )


@blueprint.route("/cases/<reference>/offer", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def answer_offer(reference: str) -> Response:
    form = OfferAnswerForm()
    found = _offered_case(reference)
    if not form.validate_on_submit():
        return MEDIATOR_PAGE.first_error(form, reference)
    try:
        if form.answer.data == "accept":
            routing.accept(database(), signed_in_user(), found)
            message = "Thank you. Check the names below for any conflict of interest."
        else:
            routing.decline(database(), signed_in_user(), found, form.reason.data or "")
            message = "You declined the case. It goes back to the case officers."
    except ServiceError as exc:
        return _refused(exc, reference)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("mediator.case", reference=reference))


@blueprint.route("/cases/<reference>/declaration", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def declare(reference: str) -> Response:
    form = DeclareForm()
    found = _offered_case(reference)
    form.validate_on_submit()
    try:
        if form.no_conflict.data:
            routing.declare_no_conflict(database(), signed_in_user(), found)
            message = "The case is now yours. Its file is below."
        else:
            reason = form.reason.data or ""
            if not reason.strip():
                raise ServiceError("Tick the declaration, or say what your conflict is.")
            routing.decline(database(), signed_in_user(), found, "Conflict: " + reason)
            message = "Thank you for declaring it. The case goes back to the case officers."
    except ServiceError as exc:
        return _refused(exc, reference)
    db.session.commit()
    flash(message, "success")
    if form.no_conflict.data:
        return _back(reference)
    return redirect(url_for("mediator.cases"))


@blueprint.route("/cases/<reference>/action", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def act(reference: str) -> Response:
    form = MediatorActionForm()
    found = _my_case(reference)
    if not form.validate_on_submit():
        flash("Choose an action.", "error")
        return _back(reference, "#actions")
    fields = {"reason": form.reason.data or "", "agreement": form.agreement.data or ""}
    try:
        mediation_work.act(
            database(),
            signed_in_user(),
            found,
            form.action.data or "",
            fields,
            expected_state=form.expected_state.data or None,
        )
    except ServiceError as exc:
        return _refused(exc, reference, "#actions")
    db.session.commit()
    flash("Done.", "success")
    if found.mediator_id is None:
        return redirect(url_for("mediator.cases"))
    return _back(reference)


@blueprint.route("/cases/<reference>/statement", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def statement(reference: str) -> Response:
    return case_sections.save_statement(MEDIATOR_PAGE, _my_case(reference))


@blueprint.route("/cases/<reference>/statement/send", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def send_statement(reference: str) -> Response:
    return case_sections.send_statement(MEDIATOR_PAGE, _my_case(reference))


@blueprint.route("/cases/<reference>/messages", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def message(reference: str) -> Response:
    return case_sections.send_message(MEDIATOR_PAGE, _my_case(reference))


@blueprint.route("/cases/<reference>/notes", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def note(reference: str) -> Response:
    return case_sections.add_note(MEDIATOR_PAGE, _my_case(reference))


@blueprint.route("/cases/<reference>/documents/<int:document_id>", methods=["POST"])
@requires(Permission.WORK_ASSIGNED_CASES)
def document(reference: str, document_id: int) -> Response:
    """Download a sealed document of one of the mediator's own cases."""
    return case_sections.download_document(MEDIATOR_PAGE, reference, document_id)


# Sessions, papers, the agreement to mediate and the outcome register themselves here.
from mediation.web.mediator import session_routes  # noqa: E402,F401
