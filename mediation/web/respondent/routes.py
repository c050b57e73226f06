"""The respondents' portal: cases against the signed-in person's own body only, each seen
through the disclosure statement the complainant approved. Dates only, never times."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField

from mediation.domain.permissions import Permission
from mediation.extensions import database, db, limiter
from mediation.models.time import utcnow
from mediation.services import accounts, api_tokens, case_access, respondents
from mediation.services.errors import ServiceError
from mediation.services.intake_rules import ALLOWED_EXTENSIONS_TEXT
from mediation.web.access import requires, signed_in_user
from mediation.web.form_validators import Limit, Required
from mediation.web.page_links import neighbours, requested_page
from mediation.web.respondent.forms import (
    DocumentForm,
    MediationAnswerForm,
    ProposalForm,
    ReplyForm,
    SurveyForm,
)

blueprint = Blueprint("respondent", __name__, url_prefix="/respondent")


@blueprint.route("/")
@requires(Permission.RESPOND_FOR_BODY)
def cases() -> str:
    user = signed_in_user()
    listed = respondents.cases_for(database(), user, page=requested_page())
    previous_url, next_url = neighbours("respondent.cases", listed.page, listed.pages)
    return render_template(
        "respondent/cases.html",
        body=user.respondent_body,
        listed=listed,
        previous_url=previous_url,
        next_url=next_url,
    )


def _back(reference: str, anchor: str = "") -> Response:
    return redirect(url_for("respondent.case", reference=reference) + anchor)


def _refused(exc: ServiceError, reference: str, anchor: str = "") -> Response:
    db.session.rollback()
    if isinstance(exc, case_access.CaseNotFound):
        abort(404)
    flash(str(exc), "error")
    return _back(reference, anchor)


@blueprint.route("/cases/<reference>")
@requires(Permission.RESPOND_FOR_BODY)
def case(reference: str) -> str:
    try:
        view = respondents.view(database(), signed_in_user(), reference)
    except case_access.CaseNotFound:
        abort(404)
    return render_template(
        "respondent/case.html",
        view=view,
        reply_form=ReplyForm(),
        proposal_form=ProposalForm(),
        answer_form=MediationAnswerForm(),
        document_form=DocumentForm(),
        survey_form=SurveyForm(),
        max_mb=int(current_app.config["MAX_DOCUMENT_BYTES"]) // (1024 * 1024),
        file_types=ALLOWED_EXTENSIONS_TEXT,
    )


def _first_error(form: ReplyForm | ProposalForm | MediationAnswerForm | SurveyForm) -> str:
    return str(next(iter(form.errors.values()))[0])


@blueprint.route("/cases/<reference>/reply", methods=["POST"])
@requires(Permission.RESPOND_FOR_BODY)
def reply(reference: str) -> Response:
    form = ReplyForm()
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
        return _back(reference, "#reply")
    try:
        respondents.reply(database(), signed_in_user(), reference, form.text.data or "")
    except ServiceError as exc:
        return _refused(exc, reference, "#reply")
    db.session.commit()
    flash("Your reply was sent to the service.", "success")
    return _back(reference)


@blueprint.route("/cases/<reference>/proposal", methods=["POST"])
@requires(Permission.RESPOND_FOR_BODY)
def proposal(reference: str) -> Response:
    form = ProposalForm()
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
        return _back(reference, "#proposal")
    try:
        respondents.propose_resolution(
            database(), signed_in_user(), reference, form.text.data or ""
        )
    except ServiceError as exc:
        return _refused(exc, reference, "#proposal")
    db.session.commit()
    flash("Your proposal was sent to the service.", "success")
    return _back(reference)


@blueprint.route("/cases/<reference>/mediation", methods=["POST"])
@requires(Permission.RESPOND_FOR_BODY)
def mediation(reference: str) -> Response:
    form = MediationAnswerForm()
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
        return _back(reference, "#mediation")
    try:
        respondents.answer_mediation(
            database(),
            signed_in_user(),
            reference,
            agree=form.answer.data == "agree",
            reason=form.reason.data or "",
        )
    except ServiceError as exc:
        return _refused(exc, reference, "#mediation")
    db.session.commit()
    flash("Your answer was sent to the service.", "success")
    return _back(reference)


@blueprint.route("/cases/<reference>/documents", methods=["POST"])
@requires(Permission.RESPOND_FOR_BODY)
def document(reference: str) -> Response:
    form = DocumentForm()
    upload = form.document.data if form.validate_on_submit() else None
    name = getattr(upload, "filename", None) or ""
    content = upload.read() if upload is not None and hasattr(upload, "read") else b""
    try:
        respondents.upload_document(database(), signed_in_user(), reference, name, content)
    except ServiceError as exc:
        return _refused(exc, reference, "#documents")
    db.session.commit()
    flash("Document sent. Only the service can open it.", "success")
    return _back(reference, "#documents")


@blueprint.route("/cases/<reference>/survey", methods=["POST"])
@requires(Permission.RESPOND_FOR_BODY)
def survey(reference: str) -> Response:
    form = SurveyForm()
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
        return _back(reference, "#survey")
    try:
        respondents.answer_survey(
            database(),
            signed_in_user(),
            reference,
            satisfaction=int(form.satisfaction.data or 0),
            fairness=int(form.fairness.data or 0),
            relationship=int(form.relationship.data or 0),
            would_use_again=form.would_use_again.data == "yes",
        )
    except ServiceError as exc:
        return _refused(exc, reference, "#survey")
    db.session.commit()
    flash("Thank you for answering the survey.", "success")
    return _back(reference)


def _token_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


class TokenForm(FlaskForm):
    password = PasswordField(
        "Your password",
        validators=[Required("Enter your password")],
        description="A token lasts well beyond this sign-in, so we check it is you.",
    )
    label = StringField(
        "What will use the token",
        validators=[
            Required("Name the token after the system that will use it"),
            Limit(max=api_tokens.LABEL_LIMIT, message="Keep the name to 80 characters"),
        ],
        description="For example: our complaints system. Only you and the service see it.",
    )


@blueprint.route("/api-tokens", methods=["GET", "POST"])
@limiter.limit(_token_limit, methods=["POST"])
@requires(Permission.RESPOND_FOR_BODY)
def tokens() -> str:
    """Tokens for the body's own case system to use the JSON API as this person. A new
    token is shown on this answer only (never flashed: flashes ride in the cookie)."""
    user = signed_in_user()
    form = TokenForm()
    made = None
    if form.validate_on_submit():
        try:
            accounts.authenticate(database(), user.email, form.password.data or "")
        except accounts.InvalidCredentials:
            form.password.errors = ["Enter your password correctly"]
        else:
            try:
                made = api_tokens.create(database(), user, form.label.data or "", utcnow())
            except ServiceError as exc:
                db.session.rollback()
                form.form_errors.append(str(exc))
            else:
                db.session.commit()
                form = TokenForm(formdata=None)
    return render_template(
        "respondent/api_tokens.html",
        form=form,
        made=made,
        tokens=api_tokens.tokens_of(database(), user, utcnow()),
        lifetime_days=api_tokens.LIFETIME.days,
        api_url=url_for("api.openapi", _external=True),
    )


@blueprint.route("/api-tokens/<token_id>/revoke", methods=["POST"])
@requires(Permission.RESPOND_FOR_BODY)
def revoke_token(token_id: str) -> Response:
    if not RevokeForm().validate_on_submit():
        abort(400)
    try:
        api_tokens.revoke(database(), signed_in_user(), token_id)
    except ServiceError as exc:  # revoked already (another tab), ended, or never theirs
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash("The token was revoked: it opens nothing now.", "success")
    return redirect(url_for("respondent.tokens"))


class RevokeForm(FlaskForm):
    """The CSRF token alone."""
