"""The admin's management of the mediator panel."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional

from mediation.domain.permissions import Permission
from mediation.domain.taxonomy import load_taxonomy
from mediation.extensions import database, db
from mediation.services import accounts, panel
from mediation.services.errors import NotFound, ServiceError
from mediation.web.access import requires, signed_in_user
from mediation.web.admin.routes import blueprint
from mediation.web.casework.forms import ChoiceList
from mediation.web.choices import select_choices
from mediation.web.form_validators import Limit


class PanelForm(FlaskForm):
    specialisms = ChoiceList(
        "Specialisms (breach categories)",
        choices=select_choices(load_taxonomy().category_choices()),
    )
    regions = ChoiceList(
        "Regions they work in",
        choices=select_choices(load_taxonomy().region_choices()),
    )
    languages = StringField(
        "Languages",
        validators=[Optional(), Limit(max=100)],
        description="Codes separated by commas, for example en, cy, pl.",
    )
    capacity = IntegerField(
        "Capacity (cases at once)",
        validators=[InputRequired("Enter a number of cases"), NumberRange(min=0, max=20)],
    )
    accreditation_body = StringField("Accrediting body", validators=[Optional(), Limit(max=200)])
    accredited_on = DateField("Accredited on", validators=[Optional()])
    cpd_last_date = DateField("Last CPD on", validators=[Optional()])
    cpd_hours = IntegerField(
        "CPD hours in the last 12 months",
        validators=[InputRequired("Enter the hours (0 if none)"), NumberRange(min=0, max=1000)],
    )
    leave = TextAreaField(
        "Leave",
        validators=[Optional(), Limit(max=2000)],
        description="One period a line, for example 2027-03-01 to 2027-03-12.",
    )
    interests = TextAreaField(
        "Declared interests",
        validators=[Optional(), Limit(max=5000)],
        description=(
            "One a line: 'body: <public body name> | what it is' or "
            "'organisation: <name> | what it is'. Routing never offers them a case involving these."
        ),
        render_kw={"rows": 6},
    )


@blueprint.route("/panel")
@requires(Permission.MANAGE_PANEL)
def panel_list() -> str:
    return render_template(
        "admin/panel.html", entries=panel.panel(database()), taxonomy=load_taxonomy()
    )


@blueprint.route("/panel/<int:mediator_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_PANEL)
def panel_member(mediator_id: int) -> Response | str:
    try:
        found = panel.entry(database(), mediator_id)
    except NotFound:
        abort(404)
    profile = found.profile
    data = {}
    if profile is not None:
        data = {
            "specialisms": profile.specialisms,
            "regions": profile.regions,
            "languages": ", ".join(profile.languages or []),
            "capacity": profile.capacity,
            "accreditation_body": profile.accreditation_body or "",
            "accredited_on": profile.accredited_on,
            "cpd_last_date": profile.cpd_last_date,
            "cpd_hours": profile.cpd_hours,
            "leave": "\n".join(f"{p['start']} to {p['end']}" for p in profile.leave or []),
            "interests": panel.interests_text(database(), profile.interests or []),
        }
    else:
        data = {"capacity": 3, "cpd_hours": 0, "languages": "en"}
    form = PanelForm(data=data)
    error = None
    if form.validate_on_submit():
        try:
            panel.update_profile(
                database(),
                accounts.actor_for(signed_in_user()),
                mediator_id,
                specialisms=list(form.specialisms.data or []),
                regions=list(form.regions.data or []),
                languages=form.languages.data or "",
                capacity=int(form.capacity.data or 0),
                accreditation_body=form.accreditation_body.data or "",
                accredited_on=form.accredited_on.data,
                cpd_last_date=form.cpd_last_date.data,
                cpd_hours=int(form.cpd_hours.data or 0),
                leave=form.leave.data or "",
                interests=form.interests.data or "",
            )
        except ServiceError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(f"Panel details saved for {found.user.name}.", "success")
            return redirect(url_for("admin.panel_list"))
    return render_template("admin/panel_member.html", entry=found, form=form, error=error)
