"""Forms for asking, deciding and giving a reason to see a complainant's identity."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import DataRequired, Length

from mediation.web.choices import select_choices

REASON_HINT = "The complainant can read this reason in their disclosure log."


def _reason_field(label: str) -> TextAreaField:
    return TextAreaField(
        label,
        description=REASON_HINT,
        validators=[
            DataRequired("Give a reason"),
            Length(min=10, max=2000, message="Give a reason of 10 to 2,000 characters"),
        ],
    )


class ReasonForm(FlaskForm):
    reason = _reason_field("Why do you need to see who complained?")


class DecisionForm(FlaskForm):
    decision = RadioField(
        "Your decision",
        choices=select_choices([("approve", "Approve"), ("refuse", "Refuse")]),
        validators=[DataRequired("Choose approve or refuse")],
    )
    reason = _reason_field("Reason for your decision")
