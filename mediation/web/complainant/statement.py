"""The complainant reads the disclosure statement meant for the public body, and approves it
or asks for changes; after closure, they answer a short survey. Nothing of the statement
reaches the public body before they approve it."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, IntegerField, RadioField, TextAreaField
from wtforms.validators import Optional

from mediation.domain.visible_text import visible
from mediation.extensions import database, db
from mediation.services import disclosure_statements, outcomes
from mediation.services.errors import ServiceError
from mediation.web.access import public
from mediation.web.choices import select_choices
from mediation.web.complainant.routes import blueprint
from mediation.web.complainant.session import current_complainant
from mediation.web.form_validators import Limit, Required
from mediation.web.respondent.forms import SurveyForm


class StatementAnswerForm(FlaskForm):
    statement_id = IntegerField(validators=[Required()])
    shown_digest = HiddenField(validators=[Required()])
    answer = RadioField(
        "Can the public body be told this?",
        choices=select_choices(
            [("approve", "Yes, I approve this statement"), ("change", "No, it needs changes")]
        ),
        validators=[Required("Choose whether you approve the statement")],
    )
    change_request = TextAreaField(
        "What should change",
        validators=[Optional(), Limit(max=3000)],
        description="Only the mediation service reads this.",
    )


def _signed_out() -> Response:
    flash("Your session has ended. Sign in again with your case reference and passphrase.")
    return redirect(url_for("complainant.sign_in"))


def _render(form: StatementAnswerForm, problem: str | None = None) -> str | Response:
    signed_in = current_complainant()
    if signed_in is None:
        return _signed_out()
    case, key = signed_in
    view = disclosure_statements.for_complainant(database(), case, key)
    return render_template(
        "complainant/_statement_page.html", case=case, view=view, form=form, problem=problem
    )


@blueprint.route("/statement")
@public
def statement() -> str | Response:
    return _render(StatementAnswerForm(formdata=None))


@blueprint.route("/statement", methods=["POST"])
@public
def answer_statement() -> str | Response:
    form = StatementAnswerForm()
    signed_in = current_complainant()
    if signed_in is None:
        return _signed_out()
    case, key = signed_in
    if not form.validate_on_submit():
        return _render(form)
    if form.answer.data == "change" and not visible(form.change_request.data or ""):
        form.change_request.errors = ["Say what should change"]
        return _render(form)
    try:
        disclosure_statements.complainant_answers(
            database(),
            case,
            key,
            int(form.statement_id.data or 0),
            approve=form.answer.data == "approve",
            shown_digest=form.shown_digest.data or "",
            change_request=form.change_request.data or "",
        )
    except ServiceError as exc:
        db.session.rollback()
        return _render(form, problem=str(exc))
    db.session.commit()
    if form.answer.data == "approve":
        flash(
            "Thank you. The public body can now read this statement, and nothing more.", "success"
        )
    else:
        flash("Thank you. We will change the statement and ask you again.", "success")
    return redirect(url_for("complainant.portal"))


@blueprint.route("/survey", methods=["GET", "POST"])
@public
def survey() -> str | Response:
    signed_in = current_complainant()
    if signed_in is None:
        return _signed_out()
    case, _ = signed_in
    form = SurveyForm()
    problem = None
    if form.validate_on_submit():
        try:
            outcomes.complainant_survey(
                database(),
                case,
                satisfaction=int(form.satisfaction.data or 0),
                fairness=int(form.fairness.data or 0),
                relationship=int(form.relationship.data or 0),
                would_use_again=form.would_use_again.data == "yes",
            )
        except ServiceError as exc:
            db.session.rollback()
            problem = str(exc)
        else:
            db.session.commit()
            flash("Thank you for answering the survey.", "success")
            return redirect(url_for("complainant.portal"))
    return render_template(
        "complainant/_statement_survey.html",
        case=case,
        form=form,
        problem=problem,
        answered=outcomes.survey_answered(database(), case, "complainant"),
    )
