"""Forms of the complainant's sign-in and portal."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    MultipleFileField,
    PasswordField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired

from mediation.domain.document_cleaning import KEEP_AS_SENT_LABEL
from mediation.services.complainant_portal import ADVERSE_KINDS
from mediation.services.intake_rules import LONG_TEXT
from mediation.web.choices import select_choices
from mediation.web.form_validators import Limit, Required

# What a sign-in can carry on with after a session ended mid-way (see session_ended.html).
RESUMABLE = ("message", "contest", "adverse", "withdraw")


def _text(label: str, required: str | None = None) -> TextAreaField:
    validators: list[Any] = [Required(required)] if required else []
    validators.append(Limit(max=LONG_TEXT, message=f"Must be {LONG_TEXT:,} characters or fewer"))
    return TextAreaField(label, validators=validators, render_kw={"rows": 6})


class SignInForm(FlaskForm):
    reference = StringField(
        "Case reference",
        description="For example, CM-4K7Q-9RTX",
        validators=[Required("Enter your case reference"), Limit(max=40)],
    )
    passphrase = PasswordField(
        "Passphrase",
        description="The seven words you were given when you sent your complaint",
        validators=[Required("Enter your passphrase"), Limit(max=300)],
    )
    # Carried through a sign-in after the session ended, so nothing typed is lost.
    resume = HiddenField()
    kept_text = TextAreaField("What you wrote", render_kw={"rows": 6})


class MessageForm(FlaskForm):
    text = _text("Your message", "Enter your message")


class DocumentForm(FlaskForm):
    files = MultipleFileField("Choose files")
    keep_as_sent = BooleanField(KEEP_AS_SENT_LABEL)


class ReasonForm(FlaskForm):
    text = _text("Why?", "Tell us why")


class WithdrawForm(FlaskForm):
    text = _text("Why are you withdrawing? (optional)")
    confirm = BooleanField(
        "I want to withdraw my complaint",
        validators=[Required("Confirm that you want to withdraw your complaint")],
    )


class AdverseForm(FlaskForm):
    kind = RadioField(
        "What happened?",
        choices=select_choices(list(ADVERSE_KINDS.items())),
        validators=[InputRequired("Choose what happened")],
    )
    text = _text("Tell us more", "Tell us what happened and when")


class OpennessChangeForm(FlaskForm):
    level = RadioField(
        "How open should your complaint be now?",
        validators=[InputRequired("Choose how open your complaint should be")],
    )
    confirm = BooleanField(
        "I understand that this cannot be undone",
        validators=[Required("Confirm that you understand this cannot be undone")],
    )
