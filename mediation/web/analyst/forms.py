"""The case officer's form for publishing a statistics release or a correction."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from mediation.web.form_validators import Limit, Required


class PublishForm(FlaskForm):
    period = StringField(
        "Period",
        description="A calendar quarter that has ended, like 2026-Q3, or a year, like 2025.",
        validators=[
            Required("Enter the period to publish, like 2026-Q3 or 2025"),
            Limit(max=20),
        ],
    )
    note = TextAreaField(
        "Correction note (only to correct a release already published)",
        description="Say what changed and why. It is published with the new version.",
        validators=[Limit(max=2000, message="Keep the note under 2,000 characters")],
    )
