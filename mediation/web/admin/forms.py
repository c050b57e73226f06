"""Forms for managing staff accounts and settings."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from mediation.web.choices import select_choices

ROLE_CHOICES = select_choices(
    [
        ("case_officer", "Case officer"),
        ("mediator", "Mediator"),
        ("respondent", "Respondent (staff of a public body)"),
        ("analyst", "Analyst (Active Community Unit)"),
        ("admin", "Admin"),
    ]
)


class NewUserForm(FlaskForm):
    name = StringField(
        "Full name", validators=[DataRequired("Enter the person's full name"), Length(max=200)]
    )
    email = StringField(
        "Email address", validators=[DataRequired("Enter an email address"), Length(max=254)]
    )
    role = RadioField("Role", choices=ROLE_CHOICES, validators=[DataRequired("Choose a role")])
    respondent_body_id = SelectField(
        "Public body (respondents only)", coerce=int, validators=[Optional()]
    )


class ConfirmForm(FlaskForm):
    """A button-only form, for its CSRF token."""


class SettingsForm(FlaskForm):
    identity_approvals_required = IntegerField(
        "Approvals needed before a mediator sees an identity",
        validators=[
            DataRequired("Enter 1 or 2"),
            NumberRange(min=1, max=2, message="Enter 1 or 2"),
        ],
    )
    retention_months = IntegerField(
        "Months a closed case is kept before its keys are destroyed",
        validators=[
            DataRequired("Enter a number of months"),
            NumberRange(min=1, max=120, message="Enter a number of months from 1 to 120"),
        ],
    )
