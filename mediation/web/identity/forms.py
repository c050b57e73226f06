"""Forms for asking, deciding and giving a reason to see a complainant's identity."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField

from mediation.web.choices import select_choices
from mediation.web.form_validators import Limit, Required

REASON_HINT = "The complainant can read this reason in their disclosure log."


def _reason_field(label: str) -> TextAreaField:
    return TextAreaField(
        label,
        description=REASON_HINT,
        validators=[
            Required("Give a reason"),
            Limit(min=10, max=2000, message="Give a reason of 10 to 2,000 characters"),
        ],
    )


class ReasonForm(FlaskForm):
    reason = _reason_field("Why do you need to see who complained?")


class DecisionForm(FlaskForm):
    decision = RadioField(
        "Your decision",
        choices=select_choices([("approve", "Approve"), ("refuse", "Refuse")]),
        validators=[Required("Choose approve or refuse")],
    )
    reason = _reason_field("Reason for your decision")
