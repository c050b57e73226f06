"""The complainant's own acts: withdraw, contest a closure, report adverse treatment, open up."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from mediation.extensions import database, db
from mediation.services import complainant_portal, identity_access
from mediation.services.errors import ServiceError
from mediation.services.identity_access import LEVELS
from mediation.vault import VaultError
from mediation.web.access import public
from mediation.web.choices import select_choices
from mediation.web.complainant.forms import OPENNESS_CHOICES, OPENNESS_HINTS, AboutForm
from mediation.web.complainant.portal import signed_out
from mediation.web.complainant.portal_forms import (
    AdverseForm,
    OpennessChangeForm,
    ReasonForm,
    WithdrawForm,
)
from mediation.web.complainant.routes import blueprint
from mediation.web.complainant.session import current_complainant
from mediation.web.complainant.sign_in import session_ended

# page name → (workflow action, form, template, message once done)
ACTIONS: dict[str, tuple[str, type[FlaskForm], str, str]] = {
    "withdraw": (
        "withdraw",
        WithdrawForm,
        "complainant/withdraw.html",
        "You have withdrawn your complaint.",
    ),
    "contest": (
        "contest_closure",
        ReasonForm,
        "complainant/contest.html",
        "You have contested the closure. A case officer will review it and tell you why.",
    ),
    "adverse": (
        "report_adverse_treatment",
        AdverseForm,
        "complainant/adverse.html",
        "Thank you for telling us. Your case is now marked urgent for our case officers.",
    ),
}


def _action_page(name: str) -> Response | tuple[str, int]:
    action, form_class, template, done = ACTIONS[name]
    form = form_class()
    text = str(form.text.data or "")  # type: ignore[attr-defined]
    signed_in = current_complainant()
    if signed_in is None:
        return session_ended(name, text) if form.is_submitted() else signed_out()
    case = signed_in[0]
    allowed = action in complainant_portal.available_actions(case)
    problem = None
    if allowed and form.validate_on_submit():
        try:
            if name == "adverse":
                assert isinstance(form, AdverseForm)
                complainant_portal.report_adverse_treatment(
                    database(), case, form.kind.data or "", text
                )
            else:
                complainant_portal.act(database(), case, action, text)
        except ServiceError as exc:
            db.session.rollback()
            problem = str(exc)
        else:
            db.session.commit()
            flash(done, "success")
            return redirect(url_for(".portal"))
    return render_template(template, form=form, case=case, allowed=allowed, problem=problem), 200


def resume_action(name: str, text: str) -> Response | tuple[str, int]:
    """After signing in again mid-way: the action's page with the kept text filled in."""
    _, form_class, template, _ = ACTIONS[name]
    signed_in = current_complainant()
    assert signed_in is not None
    case = signed_in[0]
    action = ACTIONS[name][0]
    form = form_class(formdata=None, data={"text": text})
    flash("You are signed in again. Check what you wrote, then send it.")
    allowed = action in complainant_portal.available_actions(case)
    return render_template(template, form=form, case=case, allowed=allowed, problem=None), 200


@blueprint.route("/withdraw", methods=["GET", "POST"])
@public
def withdraw() -> Response | tuple[str, int]:
    return _action_page("withdraw")


@blueprint.route("/contest-closure", methods=["GET", "POST"])
@public
def contest() -> Response | tuple[str, int]:
    return _action_page("contest")


@blueprint.route("/adverse-treatment", methods=["GET", "POST"])
@public
def adverse() -> Response | tuple[str, int]:
    return _action_page("adverse")


@blueprint.route("/openness", methods=["GET", "POST"])
@public
def openness() -> Response | tuple[str, int]:
    signed_in = current_complainant()
    form = OpennessChangeForm()
    if signed_in is None:
        return signed_out()
    case, key = signed_in
    higher = [(k, label) for k, label in OPENNESS_CHOICES if LEVELS[k] > LEVELS[case.openness]]
    form.level.choices = select_choices(higher)
    about = AboutForm(prefix="about", meta={"csrf": False}) if case.identity is None else None
    problem = None
    valid = form.validate_on_submit()
    if about is not None and form.is_submitted():
        valid = about.validate() and valid
    if higher and valid:
        identity: dict[str, Any] | None = None
        if about is not None:
            identity = {
                k: str(v).strip() for k, v in about.answers().items() if v and str(v).strip()
            }
        try:
            identity_access.increase_openness(
                database(),
                case,
                key,
                form.level.data or "",
                confirmed=bool(form.confirm.data),
                identity=identity,
            )
        except (ServiceError, VaultError) as exc:
            db.session.rollback()
            problem = str(exc)
        else:
            db.session.commit()
            flash("Your complaint is now more open. This cannot be undone.", "success")
            return redirect(url_for(".portal"))
    return render_template(
        "complainant/openness.html",
        form=form,
        about=about,
        case=case,
        higher=higher,
        hints=OPENNESS_HINTS,
        problem=problem,
    ), 200
