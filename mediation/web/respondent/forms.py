"""Forms of the public body's portal."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, TextAreaField
from wtforms.validators import Optional

from mediation.web.choices import select_choices
from mediation.web.form_validators import Limit, Required

SCALE = select_choices(
    [("1", "1 (very poor)"), ("2", "2"), ("3", "3"), ("4", "4"), ("5", "5 (very good)")]
)


class ReplyForm(FlaskForm):
    text = TextAreaField(
        "Your reply",
        validators=[Required("Write your reply"), Limit(max=8000)],
        description="The service reads this; the mediator may share it with the complainant.",
        render_kw={"rows": 8},
    )


class ProposalForm(FlaskForm):
    text = TextAreaField(
        "Your proposed resolution",
        validators=[Required("Write what you propose"), Limit(max=8000)],
        render_kw={"rows": 6},
    )


class MediationAnswerForm(FlaskForm):
    answer = RadioField(
        "Will your organisation take part in mediation?",
        choices=select_choices([("agree", "Yes, we agree to mediation"), ("decline", "No")]),
        validators=[Required("Choose yes or no")],
    )
    reason = TextAreaField("Why not (if declining)", validators=[Optional(), Limit(max=2000)])


class DocumentForm(FlaskForm):
    document = FileField("Document")


class SurveyForm(FlaskForm):
    satisfaction = RadioField(
        "How satisfied are you with the service?",
        choices=SCALE,
        validators=[Required("Choose a rating")],
    )
    fairness = RadioField(
        "How fair was the process?", choices=SCALE, validators=[Required("Choose a rating")]
    )
    relationship = RadioField(
        "How is your relationship with the other party now?",
        choices=SCALE,
        validators=[Required("Choose a rating")],
    )
    would_use_again = RadioField(
        "Would you use this service again?",
        choices=select_choices([("yes", "Yes"), ("no", "No")]),
        validators=[Required("Choose yes or no")],
    )
