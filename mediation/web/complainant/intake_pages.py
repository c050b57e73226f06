"""The complaint form: short pages saved sealed as they go, check your answers, submit."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from mediation.domain.document_cleaning import BEFORE_UPLOAD_NOTICE
from mediation.extensions import database, db, limiter
from mediation.services import drafts, intake
from mediation.services.drafts import DraftMissing, DraftTicket
from mediation.services.errors import ServiceError
from mediation.services.intake_rules import (
    ALLOWED_EXTENSIONS_TEXT,
    MAX_DOCUMENTS,
    DocumentRefused,
    IntakeInvalid,
    megabytes,
    row_id,
)
from mediation.web.access import public
from mediation.web.client_limits import (
    TOO_MANY_DRAFTS,
    TOO_MANY_PAGE_SAVES,
    TOO_MANY_UPLOADS,
    allowed,
    wait_text,
)
from mediation.web.complainant import answers_view
from mediation.web.complainant.forms import (
    OPENNESS_HINTS,
    STEP_FORMS,
    ConfirmForm,
    StepForm,
    search_text,
)
from mediation.web.complainant.routes import blueprint
from mediation.web.complainant.session import (
    clear_draft_cookie,
    draft_ticket,
    now,
    set_draft_cookie,
)

TITLES = {
    "openness": "How open do you want your complaint to be?",
    "body": "Which public body is your complaint about?",
    "breaches": "Which parts of the Compact were broken?",
    "what_happened": "What happened, and when?",
    "steps": "What have you already done?",
    "outcome": "What outcome do you want?",
    "impact": "How has this affected the people you help?",
    "documents": "Add documents (optional)",
    "about": "About your organisation",
}


def _intake_limit() -> str:
    return str(current_app.config.get("INTAKE_RATE_LIMIT", "10 per hour;30 per day"))


def _saved(ticket: DraftTicket | None) -> dict[str, Any] | None:
    try:
        return drafts.answers(database(), ticket, now())
    except DraftMissing:
        return None


def _sequence(saved: dict[str, Any]) -> tuple[str, ...]:
    return intake.steps_for((saved.get("openness") or {}).get("openness"))


def _returning() -> bool:
    """Whether the page was opened from check your answers (a link's query, or the form's
    hidden field: a step form's action never has a query string)."""
    if request.args.get("return") == "check":
        return True
    if request.method != "POST":
        return False
    try:
        return request.form.get("return") == "check"
    except RequestEntityTooLarge:  # an upload too large to read: the form is not there
        return False


def _next_url(step: str, saved: dict[str, Any]) -> str:
    if _returning():
        return url_for(".check")
    sequence = _sequence(saved)
    if step in sequence and sequence.index(step) + 1 < len(sequence):
        return url_for(".step", step=sequence[sequence.index(step) + 1])
    return url_for(".check")


def _back_url(step: str, saved: dict[str, Any]) -> str:
    if _returning():
        return url_for(".check")
    sequence = _sequence(saved)
    if step in sequence and sequence.index(step) > 0:
        return url_for(".step", step=sequence[sequence.index(step) - 1])
    return url_for("public.index")


def _body_choices(saved_page: dict[str, Any], posted: bool) -> tuple[list[tuple[str, str]], str]:
    """Bodies to offer as radios: search results, plus whichever is chosen or posted.

    The search term comes from the posted form, or from the sealed draft: never from the
    address, which would put the body complained about in logs and the browser's history.
    """
    query = search_text(request.form.get("q") if posted else saved_page.get("q"))
    wanted = [saved_page.get("body_id"), request.form.get("body_id")]
    ids = [i for i in (row_id(v) for v in wanted) if i is not None]
    found = intake.search_bodies(database(), query, include_ids=ids)
    return [(str(b.id), b.name) for b in found], query


def _form_for(step: str, saved: dict[str, Any], posted: bool) -> tuple[StepForm, dict[str, Any]]:
    page: dict[str, Any] = saved.get(step) or {}
    extra: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    if step == "body":
        bodies, query = _body_choices(page, posted)
        kwargs["bodies"] = bodies
        extra = {"searched": bool(query)}
    elif step == "openness":
        extra = {"hints": OPENNESS_HINTS}
    form_class = STEP_FORMS[step]
    form = form_class(**kwargs) if posted else form_class(formdata=None, data=page, **kwargs)
    return form, extra


def _render_step(
    step: str,
    form: StepForm,
    saved: dict[str, Any],
    *,
    status: int = 200,
    problem: str | None = None,
    **extra: Any,
) -> tuple[str, int]:
    sequence = _sequence(saved)
    context: dict[str, Any] = {
        "form": form,
        "step": step,
        "title": TITLES[step],
        "number": sequence.index(step) + 1 if step in sequence else 1,
        "total": len(sequence) + 1,
        "back_url": _back_url(step, saved),
        "returning": _returning(),
        "problem": problem,
        **extra,
    }
    if step == "documents":
        ticket = draft_ticket()
        context["documents"] = (
            drafts.list_documents(database(), ticket, now()) if _saved(ticket) else []
        )
        context["limits"] = _document_limits()
        context["cleaning_notice"] = BEFORE_UPLOAD_NOTICE
    return render_template(f"complainant/steps/{step}.html", **context), status


def _document_limits() -> dict[str, Any]:
    config = current_app.config
    return {
        "per_file": megabytes(int(config["MAX_DOCUMENT_BYTES"])),
        "per_upload": megabytes(int(config["MAX_CONTENT_LENGTH"])),
        "in_all": megabytes(int(config.get("MAX_DRAFT_DOCUMENT_BYTES", 50 * 1024 * 1024))),
        "count": MAX_DOCUMENTS,
        "types": ALLOWED_EXTENSIONS_TEXT,
    }


@blueprint.route("/new")
@public
def start() -> Response:
    return redirect(url_for(".step", step="openness"))


def step(step: str) -> Response | tuple[str, int]:
    ticket = draft_ticket()
    saved = _saved(ticket)
    if request.method == "GET":
        if saved is None and step != "openness":
            if ticket is not None:
                flash(DraftMissing.default_message)
            return redirect(url_for(".step", step="openness"))
        form, extra = _form_for(step, saved or {}, posted=False)
        return _render_step(step, form, saved or {}, **extra)
    return _save_step(step, ticket, saved)


def _save_step(
    step: str, ticket: DraftTicket | None, saved: dict[str, Any] | None
) -> Response | tuple[str, int]:
    if step == "documents":
        try:
            request.files  # noqa: B018  (reading the body is what finds it too large)
        except RequestEntityTooLarge:
            return _too_large(saved or {})
    form, extra = _form_for(step, saved or {}, posted=True)
    if not allowed("DRAFT_PAGE_RATE_LIMIT"):
        # Counted before any check or write: the page comes back as typed, nothing saved.
        problem = TOO_MANY_PAGE_SAVES.format(wait=wait_text("DRAFT_PAGE_RATE_LIMIT"))
        return _render_step(step, form, saved or {}, status=429, problem=problem, **extra)
    valid = form.validate_on_submit()
    if "csrf_token" in form.errors:
        # An expired session or form: keep everything on the page and ask again.
        return _render_step(step, form, saved or {}, **extra)
    if saved is None and not allowed("DRAFT_RATE_LIMIT"):
        return _render_step(step, form, {}, status=429, problem=TOO_MANY_DRAFTS, **extra)
    if step == "documents" and _files_chosen() and not allowed("UPLOAD_RATE_LIMIT"):
        return _render_step(step, form, saved or {}, status=429, problem=TOO_MANY_UPLOADS, **extra)
    lost_earlier_pages = saved is None and step != "openness"
    new_ticket = None
    if saved is None:
        ticket = new_ticket = drafts.start(database(), now())
        saved = {}
    drafts.save_step(database(), ticket, step, form.answers(), now())
    saved[step] = form.answers()
    upload_error = (
        _handle_documents(ticket, keep_as_sent=bool(form.data.get("keep_as_sent")))
        if step == "documents"
        else None
    )
    db.session.commit()
    if lost_earlier_pages:
        flash(
            "We could not find your earlier answers (they are deleted 24 hours after they "
            "were last saved). We have kept this page: please go through the others again."
        )
        response: Response | tuple[str, int] = redirect(url_for(".step", step="openness"))
    elif step == "body" and request.form.get("action") == "search":
        # Post/redirect/get: the results page is a plain GET of this page, so a reload
        # never posts again, and the term stays in the sealed draft, not the address.
        response = redirect(_this_url(step), 303)
    elif upload_error is not None or request.form.get("action") in {"upload", "remove"}:
        response = _render_step(step, form, saved, problem=upload_error, **extra)
    elif not valid:
        response = _render_step(step, form, saved, **extra)
    else:
        response = redirect(_next_url(step, saved))
    if new_ticket is not None:
        if isinstance(response, tuple):
            response = current_app.make_response(response)
        set_draft_cookie(response, new_ticket)
    return response


def _this_url(step: str) -> str:
    values: dict[str, Any] = {"step": step}
    if _returning():
        values["return"] = "check"
    return url_for(".step", **values)


def _files_chosen() -> bool:
    return any(storage.filename for storage in request.files.getlist("files"))


def _handle_documents(ticket: DraftTicket | None, *, keep_as_sent: bool) -> str | None:
    """Add the chosen files (cleaned; one that cannot be cleaned kept as sent only with
    `keep_as_sent`), or remove one; a refused file is named in the message."""
    config = current_app.config
    action = request.form.get("action", "")
    if action.startswith("remove:") and (document_id := row_id(action[7:])) is not None:
        drafts.remove_document(database(), ticket, document_id, now())
        return None
    problems = []
    for storage in request.files.getlist("files"):
        if not storage.filename:
            continue
        content = storage.read(int(config["MAX_DOCUMENT_BYTES"]) + 1)
        try:
            drafts.add_document(
                database(),
                ticket,
                storage.filename,
                content,
                now(),
                max_bytes=int(config["MAX_DOCUMENT_BYTES"]),
                max_total_bytes=int(config.get("MAX_DRAFT_DOCUMENT_BYTES", 50 * 1024 * 1024)),
                keep_as_sent=keep_as_sent,
            )
        except DocumentRefused as exc:
            problems.append(str(exc))
    return " ".join(problems) or None


def _too_large(saved: dict[str, Any]) -> tuple[str, int]:
    limits = _document_limits()
    form, extra = _form_for("documents", saved, posted=False)
    message = (
        f"The files you chose add up to more than {limits['per_upload']}, the most we can take "
        f"at once. Each file must be smaller than {limits['per_file']}. Your other answers are "
        "kept: choose fewer or smaller files."
    )
    return _render_step("documents", form, saved, status=413, problem=message, **extra)


for _name in intake.STEPS:
    blueprint.add_url_rule(
        f"/new/{_name}",
        endpoint="step",
        view_func=public(step),
        defaults={"step": _name},
        methods=["GET", "POST"],
    )


@blueprint.route("/new/check", methods=["GET", "POST"])
@limiter.limit(_intake_limit, methods=["POST"])
@public
def check() -> Response | tuple[str, int]:
    ticket = draft_ticket()
    saved = _saved(ticket)
    if saved is None:
        if request.method == "POST" and drafts.find(database(), ticket, now()) is not None:
            return redirect(url_for(".receipt"), 303)  # a second click on "Send"
        if ticket is not None:
            flash(DraftMissing.default_message)
        return redirect(url_for(".step", step="openness"))
    form = ConfirmForm()
    errors = answers_view.problems(saved)
    problem = None
    if request.method == "POST" and not form.validate_on_submit():
        problem = (
            "The page expired before you pressed the button. Your answers are kept: send again."
        )
    elif request.method == "POST" and not errors:
        try:
            intake.submit_draft(
                database(),
                ticket,
                now(),
                max_document_bytes=int(current_app.config["MAX_DOCUMENT_BYTES"]),
            )
        except intake.AlreadySubmitted:
            db.session.rollback()
            return redirect(url_for(".receipt"), 303)
        except IntakeInvalid as exc:
            db.session.rollback()
            errors = answers_view.describe(exc.errors)
        except ServiceError as exc:
            db.session.rollback()
            problem = str(exc)
        else:
            db.session.commit()
            return redirect(url_for(".receipt"), 303)
    return render_template(
        "complainant/check.html",
        form=form,
        sections=answers_view.sections(saved, drafts.list_documents(database(), ticket, now())),
        errors=errors,
        problem=problem,
    ), 200


@blueprint.route("/new/delete", methods=["GET", "POST"])
@public
def delete_draft() -> Response | str:
    form = ConfirmForm()
    if request.method == "POST" and not allowed("DRAFT_PAGE_RATE_LIMIT"):
        abort(429)
    if request.method == "POST" and form.validate_on_submit():
        drafts.discard(database(), draft_ticket())
        db.session.commit()
        flash("Your draft has been deleted.", "success")
        return clear_draft_cookie(redirect(url_for("public.index")))
    return render_template("complainant/delete_draft.html", form=form)


@blueprint.route("/receipt")
@public
def receipt() -> Response:
    shown = intake.take_receipt(database(), draft_ticket(), now())
    db.session.commit()
    if shown is None:
        return current_app.make_response(render_template("complainant/receipt_gone.html"))
    page = current_app.make_response(render_template("complainant/receipt.html", receipt=shown))
    return clear_draft_cookie(page)
