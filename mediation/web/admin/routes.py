"""The admin's area: users, settings, bodies and the audit log. Never case contents."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from mediation.domain import paging
from mediation.domain.permissions import Permission
from mediation.extensions import database, db
from mediation.models.audit import AuditEntry
from mediation.models.bodies import RespondentBody
from mediation.models.staff import Role, StaffUser
from mediation.services import accounts, audit, notifications, sealed_reasons, settings
from mediation.services.errors import ServiceError
from mediation.web.access import requires, signed_in_user
from mediation.web.admin.forms import ConfirmForm, NewUserForm, SettingsForm

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE_SIZE = 50


@blueprint.route("/users")
@requires(Permission.MANAGE_USERS)
def users() -> str:
    people = db.session.execute(
        select(StaffUser).order_by(StaffUser.role, StaffUser.name)
    ).scalars()
    return render_template("admin/users.html", users=list(people), Role=Role)


@blueprint.route("/users/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def new_user() -> Response | str:
    form = NewUserForm()
    error = None
    if form.validate_on_submit():
        try:
            created = accounts.create_staff_user(
                database(),
                accounts.actor_for(signed_in_user()),
                email=form.email.data or "",
                name=form.name.data or "",
                role=form.role.data or "",
            )
        except ServiceError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            link = url_for("auth.set_up", token=created.setup_token, _external=True)
            return render_template("admin/user_created.html", user=created.user, link=link)
    return render_template("admin/new_user.html", form=form, error=error)


@blueprint.route("/users/<int:user_id>")
@requires(Permission.MANAGE_USERS)
def user(user_id: int) -> Response | str:
    person = db.session.get(StaffUser, user_id)
    if person is None:
        abort(404)
    return render_template("admin/user.html", person=person, form=ConfirmForm())


@blueprint.route("/users/<int:user_id>/<any(deactivate,reactivate,reset):action>", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def user_action(user_id: int, action: str) -> Response | str:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    actor = accounts.actor_for(signed_in_user())
    try:
        if action == "reset":
            person = db.session.get(StaffUser, user_id)
            if person is not None and person.role == "respondent":
                # The link goes to the body's user by email, never to the admin's screen.
                token = accounts.reset_access(database(), actor, user_id)
                link = url_for("auth.set_up", token=token, _external=True)
                try:
                    notifications.send_invitation(person.email, link)
                except notifications.MailNotSent as exc:
                    raise ServiceError(
                        "A public body's user can only be sent a new set-up link by email, "
                        "and email is not working on this service. Nothing was changed."
                    ) from exc
                db.session.commit()
                flash(f"A new set-up link has been emailed to {person.email}.", "success")
                return redirect(url_for("admin.user", user_id=user_id))
            token = accounts.reset_access(database(), actor, user_id)
            db.session.commit()
            link = url_for("auth.set_up", token=token, _external=True)
            return render_template("admin/user_created.html", user=person, link=link, reset=True)
        accounts.set_active(database(), actor, user_id, active=action == "reactivate")
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash("Account updated.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@blueprint.route("/settings", endpoint="settings", methods=["GET", "POST"])
@requires(Permission.MANAGE_SETTINGS)
def settings_page() -> Response | str:
    current = settings.all_settings(database())
    form = SettingsForm(data=current)
    error = None
    if form.validate_on_submit():
        actor = accounts.actor_for(signed_in_user())
        try:
            for key in settings.SPECS:
                value = getattr(form, key).data
                if value != current[key]:
                    settings.change_setting(database(), actor, key, value)
        except (ServiceError, settings.InvalidSetting) as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash("Settings saved.", "success")
            return redirect(url_for("admin.settings"))
    return render_template("admin/settings.html", form=form, error=error, specs=settings.SPECS)


@blueprint.route("/bodies")
@requires(Permission.MANAGE_BODIES)
def bodies() -> str:
    rows = db.session.execute(
        select(RespondentBody).order_by(RespondentBody.body_type, RespondentBody.name)
    ).scalars()
    return render_template("admin/bodies.html", bodies=list(rows))


@blueprint.route("/audit")
@blueprint.route("/audit/page/<int:page>")
@requires(Permission.VIEW_AUDIT_LOG)
def audit_log(page: int = 1) -> str:
    total = db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    pages = paging.page_count(total, AUDIT_PAGE_SIZE)
    page = min(page, pages)  # a page past the last shows the last (the route refuses 0)
    entries = db.session.execute(
        select(AuditEntry)
        .order_by(AuditEntry.seq.desc())
        .offset((page - 1) * AUDIT_PAGE_SIZE)
        .limit(AUDIT_PAGE_SIZE)
    ).scalars()
    result = audit.verify(database()) if request.args.get("verify") == "1" else None
    return render_template(
        "admin/audit.html",
        entries=list(entries),
        result=result,
        anchor=audit.current_anchor(database()),
        page=page,
        pages=pages,
        # A reason about a case is sealed to the case key: the admin sees only that one
        # was given.
        shown_reason=sealed_reasons.for_admin,
    )
