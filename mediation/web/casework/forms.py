"""Forms of the case officers' area."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import NumberRange, Optional, ValidationError

from mediation.domain import workflow
from mediation.domain.taxonomy import load_taxonomy
from mediation.services.outcomes import FINDINGS
from mediation.web.choices import select_choices
from mediation.web.form_validators import Limit, Required

# The workflow checks the code (a clear message for one not on the list), so the forms
# leave it to the workflow rather than refusing it with a message of their own.
REFERRAL_CHOICES = select_choices([("", "Choose where"), *workflow.REFERRAL_DESTINATIONS])
RATINGS = select_choices(
    [
        ("", "Not known"),
        ("1", "1 (very poor)"),
        ("2", "2 (poor)"),
        ("3", "3 (neither good nor poor)"),
        ("4", "4 (good)"),
        ("5", "5 (very good)"),
    ]
)


class ChoiceList(SelectMultipleField):  # type: ignore[misc]
    """Several choices from a list; an unknown value is refused without being echoed back.

    None chosen is already valid (add Required to ask for one). Not to be given
    WTForms' Optional: on a first value that is blank, Optional erases the refusal of the
    values after it, which then reached the services unchecked (found by form fuzzing:
    ["", "unknown"] as remedies was a 500). Blank values are dropped as sent."""

    def process_formdata(self, valuelist: list[object]) -> None:
        super().process_formdata(
            [v for v in valuelist if not (isinstance(v, str) and not v.strip())]
        )

    def pre_validate(self, form: FlaskForm) -> None:
        try:
            super().pre_validate(form)
        except ValidationError as exc:
            raise ValidationError("Choose from the options shown.") from exc


def _with_blank(pairs: list[tuple[str, str]], blank: str) -> list[tuple[str, str]]:
    return [("", blank), *pairs]


class QueueFilterForm(FlaskForm):
    """The queue's filters: read from the query string, so no CSRF token."""

    class Meta:
        csrf = False

    state = SelectField("State", validators=[Optional()])
    category = SelectField("Breach category", validators=[Optional()])
    body_type = SelectField("Type of public body", validators=[Optional()])
    region = SelectField("Region of the public body", validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        from mediation.domain.workflow import STATES

        taxonomy = load_taxonomy()
        self.state.choices = select_choices(_with_blank(list(STATES.items()), "Any state"))
        self.category.choices = select_choices(
            _with_blank(taxonomy.category_choices(), "Any category")
        )
        self.body_type.choices = select_choices(
            _with_blank(taxonomy.body_type_choices(), "Any type")
        )
        self.region.choices = select_choices(_with_blank(taxonomy.region_choices(), "Any region"))


class TriageForm(FlaskForm):
    # The version of the saved assessment the form was filled in from (0: none yet).
    read_version = HiddenField()
    categories = ChoiceList(
        "Breach categories",
        validators=[Required("Choose at least one breach category")],
        choices=select_choices(load_taxonomy().category_choices()),
    )
    respondent_body_id = SelectField(
        "Public body", coerce=int, validators=[Required("Choose the public body")]
    )
    language = StringField(
        "Language for mediation, if not English",
        validators=[
            Optional(),
            Limit(max=10, message="Enter a language code of up to 10 letters, for example cy"),
        ],
        description="A language code, for example cy for Welsh or pl for Polish.",
    )

    def version_read(self) -> int | None:
        """The version the form carries, or None if it is missing or not a number."""
        value = (self.read_version.data or "").strip()
        return int(value) if value.isdigit() and len(value) < 10 else None


class DecisionForm(FlaskForm):
    expected_state = HiddenField()
    decision = RadioField(
        "Decision",
        choices=select_choices(
            [
                ("mediation", "Accept and offer mediation"),
                ("informal", "Accept and try informal resolution first"),
                ("refer", "Refer elsewhere"),
                ("decline", "Do not accept"),
            ]
        ),
        validators=[Required("Choose a decision")],
    )
    decline_reason = RadioField(
        "Why not accepted",
        choices=select_choices(
            [
                ("out_of_scope", "Out of scope"),
                ("premature", "Premature (raise it with the body first)"),
                ("duplicate", "Duplicate of another case"),
            ]
        ),
        validators=[Optional()],
    )
    duplicate_of = StringField("Reference of the case it repeats", validators=[Optional()])
    referred_to = SelectField(
        "Referred to", choices=REFERRAL_CHOICES, validators=[Optional()], validate_choice=False
    )
    reason = TextAreaField(
        "Reason", validators=[Optional(), Limit(max=2000)], description="Kept in the audit log."
    )


class ActionForm(FlaskForm):
    action = HiddenField(validators=[Required()])
    expected_state = HiddenField()
    reason = TextAreaField("Reason", validators=[Optional(), Limit(max=2000)])
    referred_to = SelectField(
        "Referred to", choices=REFERRAL_CHOICES, validators=[Optional()], validate_choice=False
    )


class StatementForm(FlaskForm):
    text = TextAreaField(
        "Statement for the public body",
        validators=[Required("Write the statement"), Limit(max=6000)],
        description=(
            "The complainant reads and approves this before the public body sees it. "
            "Leave out anything that could identify them unless their complaint is open."
        ),
        render_kw={"rows": 10},
    )


class MessageForm(FlaskForm):
    audience = RadioField(
        "Send to",
        choices=select_choices(
            [
                ("complainant", "The complainant"),
                ("respondent", "The public body"),
                ("both", "Both parties together"),
            ]
        ),
        validators=[Required("Choose who the message is for")],
    )
    text = TextAreaField("Message", validators=[Required("Write the message"), Limit(max=5000)])


class NoteForm(FlaskForm):
    text = TextAreaField(
        "Note",
        validators=[Required("Write the note"), Limit(max=10000)],
        description="Sealed: only case officers and the case's mediator can read notes.",
    )


class FundingCheckForm(FlaskForm):
    finding = RadioField(
        "What did the check find?",
        choices=select_choices(list(FINDINGS.items())),
        validators=[Required("Choose what the check found")],
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[Required("Give a reason"), Limit(max=2000)])
    expected_state = HiddenField()


class InviteForm(FlaskForm):
    name = StringField(
        "Full name", validators=[Required("Enter the person's full name"), Limit(max=200)]
    )
    email = StringField(
        "Work email address", validators=[Required("Enter an email address"), Limit(max=254)]
    )


class RoutingForm(FlaskForm):
    expected_state = HiddenField()
    mediator_id = RadioField(
        "Offer the case to", coerce=int, validators=[Required("Choose a mediator")]
    )
    summary = TextAreaField(
        "Anonymised summary for the mediator",
        validators=[Required("Write the summary"), Limit(max=3000)],
        description=(
            "What the mediator reads before accepting: no names of the complainant, the "
            "public body or anyone involved."
        ),
        render_kw={"rows": 6},
    )


class OutcomeForm(FlaskForm):
    result = RadioField("Result", validators=[Required("Choose the result")])
    remedies = ChoiceList("Remedies obtained")
    payment_amount = IntegerField(
        "Amount of the payment, in pounds",
        validators=[Optional(), NumberRange(min=1, message="Enter an amount of 1 pound or more")],
    )
    sought = ChoiceList("Remedies the complainant sought")
    relationship_before = SelectField("Relationship before", choices=RATINGS)
    relationship_after = SelectField("Relationship after", choices=RATINGS)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        taxonomy = load_taxonomy()
        self.result.choices = select_choices(taxonomy.result_choices())
        self.remedies.choices = select_choices(taxonomy.remedy_choices())
        self.sought.choices = select_choices(taxonomy.remedy_choices())


class ConfirmForm(FlaskForm):
    """A button-only form, for its CSRF token."""

    expected_state = HiddenField()
