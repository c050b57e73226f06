"""Adding to the list the real public body of a case filed against a body not on it.

The complainant's typed name is sealed in the narrative; the case officer reads it on the
case page, adds the body here if it is not listed, then chooses it in the assessment.
"""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField

from mediation.domain.permissions import Permission
from mediation.domain.taxonomy import load_taxonomy
from mediation.extensions import database, db
from mediation.services import case_access, case_files, intake_bodies
from mediation.services.errors import ServiceError
from mediation.services.intake_documents import SHORT_TEXT
from mediation.web.access import requires, signed_in_user
from mediation.web.casework.routes import blueprint
from mediation.web.choices import select_choices
from mediation.web.form_validators import Limit, Required


class NewBodyForm(FlaskForm):
    name = StringField(
        "Name of the public body",
        validators=[
            Required("Enter the name of the public body"),
            Limit(max=SHORT_TEXT, message=f"Must be {SHORT_TEXT} characters or fewer"),
        ],
    )
    # Unknown choices are refused by the service, with a message (not "Not a valid choice").
    body_type = SelectField(
        "Kind of public body",
        validators=[Required("Choose what kind of public body it is")],
        validate_choice=False,
    )
    region = SelectField(
        "Region where it works",
        validators=[Required("Choose the region where the public body works")],
        validate_choice=False,
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        taxonomy = load_taxonomy()
        self.body_type.choices = select_choices(
            [("", "Choose a kind of body"), *taxonomy.body_type_choices()]
        )
        self.region.choices = select_choices([("", "Choose a region"), *taxonomy.region_choices()])


def body_form_for(file: case_files.CaseFile) -> NewBodyForm | None:
    """The form to add the real body, filled in with what the complainant gave, while the
    case waits against a body not on the list; None otherwise."""
    if file.body is None or file.body.confirmed:
        return None
    return NewBodyForm(
        formdata=None, data={"name": file.named_body or "", "body_type": file.body.body_type}
    )


@blueprint.route("/cases/<reference>/bodies", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def add_body(reference: str) -> Response:
    back = url_for("casework.case", reference=reference) + "#triage"
    form = NewBodyForm()
    if not form.validate_on_submit():
        first = next(iter(form.errors.values()), None)
        flash(first[0] if first else "Check what you entered and try again.", "error")
        return redirect(back)
    try:
        case = case_access.officer_case_metadata(database(), signed_in_user(), reference)
        added = intake_bodies.add_body(
            database(),
            signed_in_user(),
            case,
            name=form.name.data or "",
            body_type=form.body_type.data or "",
            region=form.region.data or "",
        )
    except case_access.CaseNotFound:
        abort(404)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    db.session.commit()
    # The flash (kept in the session cookie) does not repeat the name.
    flash(
        "The public body is added to the list: choose it and save the assessment."
        if added.added
        else "A public body of that name is already on the list: choose it and save the "
        "assessment.",
        "success",
    )
    return redirect(back)
