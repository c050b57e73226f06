"""Case officers' work on a case: the sections shared with mediators (statement, messages,
notes, documents), urgent reports, funding checks and inviting someone from the public
body."""

from __future__ import annotations

from flask import flash, render_template, url_for
from werkzeug.wrappers import Response

from mediation.domain.permissions import Permission
from mediation.extensions import database, db
from mediation.services import notifications, outcomes, respondents
from mediation.services.errors import ServiceError
from mediation.web import case_sections
from mediation.web.access import requires, signed_in_user
from mediation.web.casework.forms import FundingCheckForm, InviteForm, ReasonForm
from mediation.web.casework.routes import (
    OFFICER_PAGE,
    _back,
    _refused,
    blueprint,
    officer_case_or_404,
)


@blueprint.route("/cases/<reference>/statement", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def statement(reference: str) -> Response:
    return case_sections.save_statement(OFFICER_PAGE, officer_case_or_404(reference))


@blueprint.route("/cases/<reference>/statement/send", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def send_statement(reference: str) -> Response:
    return case_sections.send_statement(OFFICER_PAGE, officer_case_or_404(reference))


@blueprint.route("/cases/<reference>/messages", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def message(reference: str) -> Response:
    return case_sections.send_message(OFFICER_PAGE, officer_case_or_404(reference))


@blueprint.route("/cases/<reference>/notes", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def note(reference: str) -> Response:
    return case_sections.add_note(OFFICER_PAGE, officer_case_or_404(reference))


@blueprint.route("/cases/<reference>/urgent", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def clear_urgent(reference: str) -> Response:
    form = ReasonForm()
    found = officer_case_or_404(reference)
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
    found = officer_case_or_404(reference)
    if not form.validate_on_submit():
        return OFFICER_PAGE.first_error(form, reference, "#funding-checks")
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
    found = officer_case_or_404(reference)
    if not respondents.can_invite(database(), found):
        # Not even the form: the body must not learn of the complaint before approval.
        flash(respondents.NOT_YET_INVITABLE, "error")
        return _back(reference, "#public-body")
    form = InviteForm()
    error = None
    if form.validate_on_submit():
        try:
            created = respondents.invite(
                database(),
                signed_in_user(),
                found,
                email=form.email.data or "",
                name=form.name.data or "",
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
    return case_sections.download_document(OFFICER_PAGE, reference, document_id)
