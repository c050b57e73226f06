"""Forms for staff sign-in, second factor and account set-up."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional


class SignInForm(FlaskForm):
    email = StringField(
        "Email address", validators=[DataRequired("Enter your email address"), Length(max=254)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password"), Length(max=1024)]
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Security code",
        validators=[DataRequired("Enter the 6-digit code from your authenticator app")],
    )


class SetupForm(FlaskForm):
    password = PasswordField(
        "Choose a password",
        validators=[
            DataRequired("Choose a password"),
            Length(min=12, max=1024, message="Password must be 12 characters or more"),
        ],
    )
    confirm = PasswordField(
        "Type the password again",
        validators=[
            DataRequired("Type the password again"),
            EqualTo("password", message="The passwords do not match"),
        ],
    )
    recovery_key = StringField(
        "Recovery key (if you have it)", validators=[Optional(), Length(max=100)]
    )
