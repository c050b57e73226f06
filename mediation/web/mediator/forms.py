"""Forms of the mediators' area."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import Optional

from mediation.services.mediation_work import PARTS_OF_DAY
from mediation.web.choices import select_choices
from mediation.web.form_validators import Limit, Required


class OfferAnswerForm(FlaskForm):
    answer = RadioField(
        "Will you take this case?",
        choices=select_choices(
            [("accept", "Yes: show me the names to check for conflicts"), ("decline", "No")]
        ),
        validators=[Required("Say whether you will take the case")],
    )
    reason = TextAreaField(
        "Why not (if declining)",
        validators=[Optional(), Limit(max=2000)],
        description="Seen by case officers only.",
    )


class DeclareForm(FlaskForm):
    no_conflict = BooleanField(
        "I have no interest in the public body or anyone involved, and I am independent"
    )
    reason = TextAreaField(
        "If you do have a conflict, say what it is",
        validators=[Optional(), Limit(max=2000)],
        description="The case then goes back to the case officers.",
    )


class SessionForm(FlaskForm):
    held_on = DateField("Date of the session", validators=[Required("Enter the date")])
    part_of_day = RadioField(
        "When in the day",
        choices=select_choices(list(PARTS_OF_DAY.items())),
        validators=[Required("Choose morning, afternoon or all day")],
    )
    online = BooleanField("The session is online")
    place = StringField(
        "Where",
        validators=[Optional(), Limit(max=200)],
        description="Both parties see this: a venue and town, not a home address.",
    )


class PapersForm(FlaskForm):
    party = RadioField(
        "Whose papers arrived",
        choices=select_choices(
            [("complainant", "The complainant's"), ("respondent", "The public body's")]
        ),
        validators=[Required("Choose whose papers arrived")],
    )
    received_on = DateField("Received on", validators=[Required("Enter the date")])


class SignaturesForm(FlaskForm):
    complainant_signed_on = DateField(
        "The complainant signed the agreement to mediate on", validators=[Optional()]
    )
    respondent_signed_on = DateField(
        "The public body signed the agreement to mediate on", validators=[Optional()]
    )


class MediatorActionForm(FlaskForm):
    action = HiddenField(validators=[Required()])
    expected_state = HiddenField()
    reason = TextAreaField("Reason", validators=[Optional(), Limit(max=2000)])
    agreement = RadioField(
        "Agreement",
        choices=select_choices([("full", "Full agreement"), ("partial", "Partial agreement")]),
        validators=[Optional()],
    )
