"""Forms for staff sign-in, second factor and account set-up."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, Optional

from mediation.web.form_validators import Limit, Required


class SignInForm(FlaskForm):
    email = StringField(
        "Email address", validators=[Required("Enter your email address"), Limit(max=254)]
    )
    password = PasswordField(
        "Password", validators=[Required("Enter your password"), Limit(max=1024)]
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Security code",
        validators=[Required("Enter the 6-digit code from your authenticator app")],
    )


class SetupForm(FlaskForm):
    password = PasswordField(
        "Choose a password",
        validators=[
            Required("Choose a password"),
            Limit(min=12, max=1024, message="Password must be 12 characters or more"),
        ],
    )
    confirm = PasswordField(
        "Type the password again",
        validators=[
            Required("Type the password again"),
            EqualTo("password", message="The passwords do not match"),
        ],
    )
    recovery_key = StringField(
        "Recovery key (if you have it)", validators=[Optional(), Limit(max=100)]
    )
