"""The case officers' area: the queue, the case page, triage and workflow actions."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_template_attribute,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from mediation.domain import workflow
from mediation.domain.permissions import Permission
from mediation.domain.taxonomy import load_taxonomy
from mediation.extensions import database, db
from mediation.models.bodies import RespondentBody
from mediation.models.cases import Case
from mediation.request_transactions import commit_and_keep_loaded
from mediation.services import (
    case_access,
    case_files,
    case_queue,
    notifications,
    queue_cache,
    queue_replica,
    triage,
)
from mediation.services.accounts import actor_for
from mediation.services.errors import ServiceError
from mediation.services.workflow import perform
from mediation.web.access import SignInAgain, current_keypair, requires, signed_in_user
from mediation.web.case_sections import CasePage
from mediation.web.casework import queue_table
from mediation.web.casework.forms import (
    ActionForm,
    ConfirmForm,
    DecisionForm,
    FundingCheckForm,
    MessageForm,
    NoteForm,
    QueueFilterForm,
    ReasonForm,
    StatementForm,
    TriageForm,
)
from mediation.web.page_links import neighbours, requested_page

blueprint = Blueprint("casework", __name__, url_prefix="/casework")

# Officer actions with a page or form of their own rather than the generic action form.
OWN_FORMS = frozenset({"decline", "start_informal", "offer_mediation", "appoint_mediator", "close"})


@blueprint.after_app_request
def _deliver_notifications(response: Response) -> Response:
    """Send what is due once a signed-in staff member's request that queued mail is
    committed; a complainant's email only in a case officer's request, whose key can open
    the address (see services.notifications). Never in anyone else's request: what a
    complainant's act queues waits its random delay for `flask outbox deliver` (G11)."""
    session = database()
    queued = session.info.pop("outbox", False)
    complainant_act = session.info.pop(notifications.COMPLAINANT_ACT, False)
    if not queued or complainant_act or not current_user.is_authenticated:
        return response
    if not notifications.mail_configured():
        return response
    officer_key = None
    try:
        if current_user.is_authenticated and current_user.role == "case_officer":
            officer_key = current_keypair()
    except SignInAgain:
        officer_key = None
    try:
        notifications.deliver_pending(session, officer_key=officer_key)
        db.session.commit()
    except Exception:  # mail must never break the page; `flask outbox deliver` retries
        db.session.rollback()
    return response


def body_choices() -> list[tuple[int, str]]:
    """Bodies on the list: never a placeholder for a body a complainant named (see
    services/intake_bodies.py), which must be replaced by the real one."""
    rows = db.session.execute(
        select(RespondentBody.id, RespondentBody.name)
        .where(RespondentBody.confirmed.is_(True))
        .order_by(RespondentBody.name)
    ).all()
    return [(0, "Choose a public body"), *((row.id, row.name) for row in rows)]


FILTER_FIELDS = ("state", "category", "body_type", "region")


@lru_cache(maxsize=256)
def _filter_fields(chosen: tuple[tuple[str, str], ...]) -> Markup:
    """The queue's filter fields with these values chosen. Nothing else goes into them
    (their options are the workflow's states and the taxonomy's lists), and writing out
    their sixty-odd options took a fifth of the page: each choice is written once."""
    write = get_template_attribute("casework/_queue_filters.html", "filter_fields")
    fields: Markup = write(QueueFilterForm(MultiDict(chosen)))
    return fields


@blueprint.route("/")
@requires(Permission.VIEW_CASE_QUEUE)
def queue() -> str:
    # The filters as their fields read them (each field takes its argument's first value).
    chosen = tuple((name, request.args[name]) for name in FILTER_FIELDS if name in request.args)
    view = request.args.get("view", "all")
    filters = case_queue.QueueFilters(
        view=view if view in case_queue.VIEWS else "all",
        **{name: value or None for name, value in chosen},
    )
    result = case_queue.build_queue(
        database(),
        filters,
        page=requested_page(),
        page_size=case_queue.PAGE_SIZE,
        cache=queue_cache.of(current_app),
        replica=queue_replica.of(current_app),
    )
    kept: dict[str, Any] = {
        "view": filters.view,
        "state": filters.state,
        "category": filters.category,
        "body_type": filters.body_type,
        "region": filters.region,
    }
    previous_url, next_url = neighbours("casework.queue", result.page, result.pages, **kept)
    return render_template(
        "casework/queue.html",
        queue=result,
        filters=filters,
        filter_fields=_filter_fields(chosen),
        views=case_queue.VIEWS,
        previous_url=previous_url,
        next_url=next_url,
        # Links built once, each row or view adding its part (a URL-safe reference
        # "CM-XXXX-XXXX", or a view's name): building sixty links costs a sixth of the page.
        table_rows=queue_table.table_rows(
            result.rows, url_for("casework.case", reference="~").removesuffix("~")
        ),
        queue_link=url_for("casework.queue"),
    )


OFFICER_PAGE = CasePage("casework.case")
_back = OFFICER_PAGE.back
_refused = OFFICER_PAGE.refused


def officer_case_or_404(reference: str) -> Case:
    """The case a case officer's form is about (its row alone), or 404."""
    try:
        return case_access.officer_case_metadata(database(), signed_in_user(), reference)
    except case_access.CaseNotFound:
        abort(404)


@blueprint.route("/cases/<reference>")
@requires(Permission.VIEW_CASE_QUEUE)
def case(reference: str) -> Response | str:
    try:
        file = case_files.officer_file(database(), signed_in_user(), current_keypair(), reference)
    except case_access.CaseNotFound:
        abort(404)
    except ServiceError as exc:
        return render_template("errors/error.html", code=404, title="Case", message=str(exc))
    commit_and_keep_loaded(database())  # the audit entry for opening the case
    typed = flask_session.pop(TYPED_ASSESSMENT, None)
    if isinstance(typed, dict) and typed.get("reference") == file.case.reference:
        triage_form, conflict = _typed_assessment(file, typed)
    else:
        triage_form, conflict = _saved_assessment(file), None
    triage_form.respondent_body_id.choices = body_choices()  # type: ignore[assignment]
    return _case_page(file, triage_form, conflict)


# The session key that carries an assessment the officer typed, when it was not saved,
# to the case page that shows it again (codes only: categories, a body id, a language).
TYPED_ASSESSMENT = "typed_assessment"


def _saved_assessment(file: case_files.CaseFile) -> TriageForm:
    return TriageForm(
        data={
            "read_version": str(triage.assessment_version(file.triage)),
            "categories": file.triage.categories if file.triage else file.claimed_categories,
            "respondent_body_id": file.case.respondent_body_id or 0,
            "language": file.triage.language if file.triage else "",
        }
    )


def _keep_typed_assessment(reference: str, form: TriageForm, conflict: str = "") -> None:
    # Kept in the signed session cookie, which a browser drops (signing the officer out)
    # past about 4 KB: only the categories the form offers (the page can show no other),
    # and short values.
    offered = {code for code, _ in load_taxonomy().category_choices()}
    flask_session[TYPED_ASSESSMENT] = {
        "reference": reference,
        "read_version": str(form.read_version.data or "")[:12],
        "categories": [c for c in dict.fromkeys(form.categories.data or []) if c in offered],
        "respondent_body_id": form.respondent_body_id.data
        if isinstance(form.respondent_body_id.data, int)
        else 0,
        "language": str(form.language.data or "")[:40],
        "errors": {name: [str(m) for m in messages] for name, messages in form.errors.items()},
        "conflict": conflict,
    }


def _typed_assessment(
    file: case_files.CaseFile, typed: dict[str, Any]
) -> tuple[TriageForm, str | None]:
    """The assessment as the officer typed it, with why it was not saved: its errors, or
    (another officer having saved first) a message, shown beside the saved answer."""
    conflict = str(typed.get("conflict") or "") or None
    form = TriageForm(
        data={
            # After a conflict, saving again is a choice made having seen their answer.
            "read_version": str(triage.assessment_version(file.triage))
            if conflict
            else str(typed.get("read_version") or ""),
            "categories": list(typed.get("categories") or []),
            "respondent_body_id": typed.get("respondent_body_id") or 0,
            "language": str(typed.get("language") or ""),
        }
    )
    for name, messages in dict(typed.get("errors") or {}).items():
        if name in form:
            form[name].errors = [str(m) for m in messages]
    return form, conflict


def _case_page(
    file: case_files.CaseFile, triage_form: TriageForm, triage_conflict: str | None = None
) -> str:
    return render_template(
        "casework/case.html",
        file=file,
        triage_form=triage_form,
        triage_conflict=triage_conflict,
        decision_form=DecisionForm(expected_state=file.case.state),
        action_form=ActionForm(),
        statement_form=StatementForm(data={"text": file.statement.working_text}),
        message_form=MessageForm(),
        note_form=NoteForm(),
        funding_form=FundingCheckForm(),
        urgent_form=ReasonForm(),
        confirm_form=ConfirmForm(),
        generic_actions=[t for t in file.actions if t.action not in OWN_FORMS],
        open_for_triage=file.case.state in triage.OPEN_FOR_TRIAGE,
        body_form=body_routes.body_form_for(file),
        taxonomy=load_taxonomy(),
        workflow=workflow,
    )


@blueprint.route("/cases/<reference>/triage", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def record_triage(reference: str) -> Response:
    found = officer_case_or_404(reference)
    form = TriageForm()
    form.respondent_body_id.choices = body_choices()  # type: ignore[assignment]
    if not form.validate_on_submit():
        _keep_typed_assessment(found.reference, form)
        return _back(found.reference, "#triage")
    read_version = form.version_read()
    if read_version is None:
        flash(
            "The assessment form was out of date. It now shows the saved assessment: make "
            "your changes again.",
            "error",
        )
        return _back(reference, "#triage")
    try:
        triage.record_triage(
            database(),
            signed_in_user(),
            found,
            categories=list(form.categories.data or []),
            respondent_body_id=form.respondent_body_id.data or None,
            language=form.language.data,
            read_version=read_version,
            officer_key=current_keypair(),
        )
    except triage.AssessmentChanged as exc:
        db.session.rollback()
        _keep_typed_assessment(found.reference, form, conflict=str(exc))
        return _back(found.reference, "#triage")
    except ServiceError as exc:
        return _refused(exc, reference, "#triage")
    db.session.commit()
    flash("Assessment saved.", "success")
    return _back(reference, "#triage")


@blueprint.route("/cases/<reference>/decision", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def decide(reference: str) -> Response:
    form = DecisionForm()
    if not form.validate_on_submit():
        return OFFICER_PAGE.first_error(form, reference, "#decision")
    officer = signed_in_user()
    try:
        found = case_access.officer_case_metadata(database(), officer, reference)
        planned = triage.decide(
            database(),
            officer,
            found,
            decision=form.decision.data or "",
            reason=form.reason.data or "",
            decline_reason=form.decline_reason.data or "",
            duplicate_of=form.duplicate_of.data or "",
            referred_to=form.referred_to.data or "",
            expected_state=form.expected_state.data or None,
        )
    except case_access.CaseNotFound:
        abort(404)
    except ServiceError as exc:
        return _refused(exc, reference, "#decision")
    db.session.commit()
    flash(
        f"Decision recorded: the case is now {workflow.state_label(planned.to_state).lower()}.",
        "success",
    )
    return _back(reference)


@blueprint.route("/cases/<reference>/action", methods=["POST"])
@requires(Permission.TRIAGE_CASES)
def act(reference: str) -> Response:
    form = ActionForm()
    if not form.validate_on_submit() or form.action.data in OWN_FORMS:
        flash("Choose an action from the case page.", "error")
        return _back(reference, "#actions")
    officer = signed_in_user()
    fields = {"reason": form.reason.data or "", "referred_to": form.referred_to.data or ""}
    try:
        found = case_access.officer_case_metadata(database(), officer, reference)
        planned = perform(
            database(),
            found,
            form.action.data or "",
            actor_for(officer),
            role="case_officer",
            fields=fields,
            expected_state=form.expected_state.data or None,
        )
    except case_access.CaseNotFound:
        abort(404)
    except ServiceError as exc:
        return _refused(exc, reference, "#actions")
    db.session.commit()
    flash(f"Done: {planned.transition.label.lower()}.", "success")
    return _back(reference)


# The other pages of the case officers' area register themselves on this blueprint.
from mediation.web.casework import (  # noqa: E402,F401
    body_routes,
    case_work_routes,
    routing_routes,
)
