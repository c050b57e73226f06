"""Forms for managing staff accounts and settings."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, StringField
from wtforms.validators import NumberRange

from mediation.web.choices import select_choices
from mediation.web.form_validators import Limit, Required

ROLE_CHOICES = select_choices(
    [
        ("case_officer", "Case officer"),
        ("mediator", "Mediator"),
        ("analyst", "Analyst (Active Community Unit)"),
        ("admin", "Admin"),
    ]
)


class NewUserForm(FlaskForm):
    name = StringField(
        "Full name", validators=[Required("Enter the person's full name"), Limit(max=200)]
    )
    email = StringField(
        "Email address", validators=[Required("Enter an email address"), Limit(max=254)]
    )
    # Staff of a public body are invited by a case officer from one of the body's cases, so
    # that whoever manages accounts cannot make themselves a body's user and read what the
    # body is shown.
    role = RadioField("Role", choices=ROLE_CHOICES, validators=[Required("Choose a role")])


class ConfirmForm(FlaskForm):
    """A button-only form, for its CSRF token."""


class SettingsForm(FlaskForm):
    identity_approvals_required = IntegerField(
        "Approvals needed before a mediator sees an identity",
        validators=[
            Required("Enter 1 or 2"),
            NumberRange(min=1, max=2, message="Enter 1 or 2"),
        ],
    )
    retention_months = IntegerField(
        "Months a closed case is kept before its keys are destroyed",
        validators=[
            Required("Enter a number of months"),
            NumberRange(min=1, max=120, message="Enter a number of months from 1 to 120"),
        ],
    )
