"""Forms of the complaint's pages, each checked on the server with a message per field."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, ValidationError

from mediation.domain.document_cleaning import KEEP_AS_SENT_LABEL
from mediation.domain.taxonomy import load_taxonomy
from mediation.domain.visible_text import visible
from mediation.services.intake_rules import (
    LONG_TEXT,
    SHORT_TEXT,
    check_email,
    check_phone,
    printable,
)
from mediation.web.choices import select_choices
from mediation.web.form_validators import Limit, Required

OPENNESS_CHOICES = (
    ("anonymous", "Anonymous"),
    ("confidential", "Confidential"),
    ("open", "Open"),
)
OPENNESS_HINTS = {
    "anonymous": "We do not ask who you are, and this service keeps nothing that says who you "
    "are. Take care that what you write and the documents you add do not give it away. We can "
    "only reach you through this website.",
    "confidential": "Only our case officers see who you are. A mediator sees it only if a case "
    "officer approves a reason, and you can read every time it happens. The public body is "
    "never told.",
    "open": "The public body is told your organisation's name and contact, as well as our "
    "case officers. You cannot make it confidential again later.",
}
NOT_LISTED = "not_listed"
SEARCH_LENGTH = 100


def _long(label: str, required: str | None = None, **kwargs: Any) -> TextAreaField:
    validators: list[Any] = [Required(required)] if required else []
    validators.append(Limit(max=LONG_TEXT, message=f"Must be {LONG_TEXT:,} characters or fewer"))
    return TextAreaField(label, validators=validators, render_kw={"rows": 8}, **kwargs)


def _short(label: str, required: str | None = None, limit: int = SHORT_TEXT) -> StringField:
    validators: list[Any] = [Required(required)] if required else []
    validators.append(Limit(max=limit, message=f"Must be {limit:,} characters or fewer"))
    return StringField(label, validators=validators)


def search_text(value: object) -> str:
    """A search term as kept: printable, at most SEARCH_LENGTH characters."""
    return printable(value if isinstance(value, str) else "", SEARCH_LENGTH).strip()


class StepForm(FlaskForm):
    """A page of the complaint: its answers are saved as typed, valid or not."""

    def answers(self) -> dict[str, Any]:
        return {
            name: field.data
            for name, field in self._fields.items()
            if name != "csrf_token" and field.type != "MultipleFileField"
        }


class OpennessForm(StepForm):
    openness = RadioField(
        "How much should the public body be told about who complained?",
        choices=select_choices(OPENNESS_CHOICES),
        validators=[InputRequired("Choose anonymous, confidential or open")],
    )


class BodyForm(StepForm):
    # The search is part of this page's form (a POST, saved in the sealed draft with the
    # other answers), so the name of the body complained about is never in an address.
    q = StringField(
        "Search our list of public bodies",
        description="Type part of its name, for example “Marsh” or “Arts Council”.",
    )
    body_id = RadioField(
        "Which public body is your complaint about?",
        validators=[InputRequired("Choose the public body, or choose that it is not listed")],
    )
    body_name = _short("Name of the public body")
    body_type = SelectField("What kind of public body is it?", validate_choice=False)

    def __init__(self, *args: Any, bodies: list[tuple[str, str]] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        listed = list(bodies or [])
        self.body_id.choices = select_choices(
            [*listed, (NOT_LISTED, "It is not listed, or I am not sure")]
        )
        self.body_type.choices = select_choices(
            [("", "Choose a kind of body"), *load_taxonomy().body_type_choices()]
        )

    def answers(self) -> dict[str, Any]:
        answers = super().answers()
        answers["q"] = search_text(answers.get("q"))
        return answers

    def validate_body_name(self, field: Field) -> None:
        if self.body_id.data == NOT_LISTED and not visible(field.data or ""):
            raise ValidationError("Enter the name of the public body")

    def validate_body_type(self, field: Field) -> None:
        known = {t.id for t in load_taxonomy().body_types}
        if self.body_id.data == NOT_LISTED and field.data not in known:
            raise ValidationError("Choose what kind of public body it is")


class BreachesForm(StepForm):
    categories = SelectMultipleField(
        "Which parts of the Compact do you think were broken?",
        validators=[Required("Choose at least one part of the Compact")],
    )
    paragraph = SelectField(
        "Paragraph of the Compact or of a code (optional)", validate_choice=False
    )
    reference = _short("Local Compact clause or other reference (optional)", limit=1000)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        taxonomy = load_taxonomy()
        self.categories.choices = select_choices(taxonomy.category_choices())
        self.paragraph.choices = select_choices(
            [("", "None, or I am not sure"), *taxonomy.paragraph_choices()]
        )

    def validate_paragraph(self, field: Field) -> None:
        known = {key for key, _ in load_taxonomy().paragraph_choices()}
        if field.data and field.data not in known:
            raise ValidationError("Choose a paragraph from the list")


class WhatHappenedForm(StepForm):
    what_happened = _long("What happened?", "Tell us what happened")
    when = _short("When did it happen?", "Tell us when it happened, even roughly")


class StepsForm(StepForm):
    raised_with_body = RadioField(
        "Have you already raised this with the public body?",
        choices=select_choices([("yes", "Yes"), ("no", "No")]),
        validators=[InputRequired("Choose yes or no")],
    )
    steps_taken = _long("What did you do, and what did they say?")

    def validate_steps_taken(self, field: Field) -> None:
        if self.raised_with_body.data == "yes" and not visible(field.data or ""):
            raise ValidationError("Tell us what you did and what the public body said")


class OutcomeForm(StepForm):
    outcome_sought = _long("What would put things right?", "Tell us what outcome you want")


class ImpactForm(StepForm):
    impact = _long("How has this affected the people your organisation helps? (optional)")


class DocumentsForm(StepForm):
    files = MultipleFileField("Add documents")
    keep_as_sent = BooleanField(KEEP_AS_SENT_LABEL)

    def answers(self) -> dict[str, Any]:
        # Consent is given for the files added with it, never remembered for the next.
        return {k: v for k, v in super().answers().items() if k != "keep_as_sent"}


class AboutForm(StepForm):
    organisation = _short("Name of your organisation", "Enter the name of your organisation")
    contact_name = _short(
        "Who should we contact?", "Enter the name of the person we should contact"
    )
    email = _short("Email address", limit=254)
    phone = _short("Phone number", limit=30)
    region = RadioField(
        "Where does your organisation work?",
        validators=[InputRequired("Choose the region where your organisation works")],
    )
    size_band = RadioField(
        "What is your organisation's yearly income?",
        validators=[InputRequired("Choose your organisation's yearly income")],
    )
    email_updates = BooleanField("Email me when there is an update on my complaint")

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        taxonomy = load_taxonomy()
        self.region.choices = select_choices(taxonomy.region_choices())
        self.size_band.choices = select_choices(taxonomy.size_band_choices())

    def validate_email(self, field: Field) -> None:
        value = (field.data or "").strip()
        if not visible(value) and not visible(self.phone.data or ""):
            raise ValidationError("Enter an email address or a phone number")
        if value and (problem := check_email(value)):
            raise ValidationError(problem)

    def validate_phone(self, field: Field) -> None:
        value = (field.data or "").strip()
        if value and (problem := check_phone(value)):
            raise ValidationError(problem)

    def validate_email_updates(self, field: Field) -> None:
        if field.data and not (self.email.data or "").strip():
            raise ValidationError("Give an email address for updates by email, or untick this")


class ConfirmForm(FlaskForm):
    """A form with only its CSRF token: submit, delete a draft, sign out."""


STEP_FORMS: dict[str, type[StepForm]] = {
    "openness": OpennessForm,
    "body": BodyForm,
    "breaches": BreachesForm,
    "what_happened": WhatHappenedForm,
    "steps": StepsForm,
    "outcome": OutcomeForm,
    "impact": ImpactForm,
    "documents": DocumentsForm,
    "about": AboutForm,
}
