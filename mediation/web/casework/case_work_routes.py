"""Case officers' work on a case: the statement, messages, notes, urgent reports, funding
checks, seeing who complained, and inviting someone from the public body."""

from __future__ import annotations

from urllib.parse import quote

from flask import abort, flash, make_response, render_template, url_for
from werkzeug.wrappers import Response

from mediation.domain.permissions import Permission
from mediation.extensions import database, db
from mediation.models.cases import Case
from mediation.services import (
    case_access,
    case_files,
    disclosure_statements,
    mediation_work,
    notifications,
    outcomes,
    respondents,
)
from mediation.services.errors import ServiceError
from mediation.web.access import current_keypair, requires, signed_in_user
from mediation.web.casework.forms import (
    FundingCheckForm,
    InviteForm,
    MessageForm,
    NoteForm,
    ReasonForm,
    StatementForm,
)
from mediation.web.casework.routes import _back, _refused, blueprint


def _case(reference: str) -> Case:
    try:
        return case_access.officer_case_metadata(database(), signed_in_user(), reference)
    except case_access.CaseNotFound:
        abort(404)


@blueprint.route("/cases/<reference>/statement", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def statement(reference: str) -> Response:
    form = StatementForm()
    found = _case(reference)
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0], "error")
        return _back(reference, "#statement")
    try:
        disclosure_statements.save_draft(database(), signed_in_user(), found, form.text.data or "")
    except ServiceError as exc:
        return _refused(exc, reference, "#statement")
    db.session.commit()
    flash("Draft saved. Send it to the complainant when it is ready.", "success")
    return _back(reference, "#statement")


@blueprint.route("/cases/<reference>/statement/send", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def send_statement(reference: str) -> Response:
    found = _case(reference)
    try:
        disclosure_statements.send_for_approval(database(), signed_in_user(), found)
    except ServiceError as exc:
        return _refused(exc, reference, "#statement")
    db.session.commit()
    flash("Sent to the complainant to read and approve.", "success")
    return _back(reference, "#statement")


@blueprint.route("/cases/<reference>/messages", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def message(reference: str) -> Response:
    form = MessageForm()
    found = _case(reference)
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0], "error")
        return _back(reference, "#messages")
    try:
        mediation_work.send_message(
            database(), signed_in_user(), found, form.audience.data or "", form.text.data or ""
        )
    except ServiceError as exc:
        return _refused(exc, reference, "#messages")
    db.session.commit()
    flash("Message sent.", "success")
    return _back(reference, "#messages")


@blueprint.route("/cases/<reference>/notes", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def note(reference: str) -> Response:
    form = NoteForm()
    found = _case(reference)
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0], "error")
        return _back(reference, "#notes")
    try:
        mediation_work.add_note(database(), signed_in_user(), found, form.text.data or "")
    except ServiceError as exc:
        return _refused(exc, reference, "#notes")
    db.session.commit()
    flash("Note added.", "success")
    return _back(reference, "#notes")


@blueprint.route("/cases/<reference>/urgent", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def clear_urgent(reference: str) -> Response:
    form = ReasonForm()
    found = _case(reference)
    try:
        outcomes.clear_urgent(database(), signed_in_user(), found, form.reason.data or "")
    except ServiceError as exc:
        return _refused(exc, reference)
    db.session.commit()
    flash("The case is no longer marked urgent.", "success")
    return _back(reference)


@blueprint.route("/cases/<reference>/funding-checks/<int:check_id>", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def funding_check(reference: str, check_id: int) -> Response:
    form = FundingCheckForm()
    found = _case(reference)
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0], "error")
        return _back(reference, "#funding-checks")
    try:
        check = outcomes.record_funding_check(
            database(), signed_in_user(), found, check_id, form.finding.data or ""
        )
    except ServiceError as exc:
        return _refused(exc, reference, "#funding-checks")
    db.session.commit()
    if check.adverse:
        flash("Recorded. Funding was cut: the case is marked urgent.", "error")
    else:
        flash("Funding check recorded.", "success")
    return _back(reference, "#funding-checks")


@blueprint.route("/cases/<reference>/invite", methods=["GET", "POST"])
@requires(Permission.TRIAGE_CASES)
def invite(reference: str) -> Response | str:
    found = _case(reference)
    body = found.respondent_body_id
    form = InviteForm()
    error = None
    if form.validate_on_submit():
        try:
            created = respondents.invite(
                database(),
                signed_in_user(),
                email=form.email.data or "",
                name=form.name.data or "",
                body_id=body,
            )
        except ServiceError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            link = url_for("auth.set_up", token=created.setup_token, _external=True)
            try:
                notifications.send_invitation(created.user.email, link)
            except notifications.MailNotSent as exc:
                return render_template(
                    "casework/invited.html",
                    case=found,
                    user=created.user,
                    link=link,
                    error=str(exc),
                )
            return render_template(
                "casework/invited.html", case=found, user=created.user, link=None, error=None
            )
    return render_template("casework/invite.html", case=found, form=form, error=error)


@blueprint.route("/cases/<reference>/documents/<int:document_id>", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def document(reference: str, document_id: int) -> Response:
    """Download a sealed document (a POST, so that no link or history holds it)."""
    try:
        opened = case_files.open_document(
            database(), signed_in_user(), current_keypair(), reference, document_id
        )
    except ServiceError as exc:
        return _refused(exc, reference, "#documents")
    db.session.commit()  # the audit entry for opening it
    return download(opened)


def download(opened: case_files.OpenedDocument) -> Response:
    response = make_response(opened.content)
    response.headers["Content-Type"] = "application/octet-stream"
    response.headers["Content-Disposition"] = "attachment; filename*=UTF-8''" + quote(opened.name)
    return response
