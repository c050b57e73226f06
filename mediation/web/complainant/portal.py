"""The complainant's portal: status and dates, messages, documents, the disclosure log."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from mediation.domain.document_cleaning import BEFORE_UPLOAD_NOTICE
from mediation.extensions import database, db
from mediation.services import complainant_portal, complaints, identity_access
from mediation.services.errors import ServiceError
from mediation.services.intake_rules import ALLOWED_EXTENSIONS_TEXT, content_type_for, megabytes
from mediation.vault import KeyPair, VaultError
from mediation.web.access import public
from mediation.web.client_limits import TOO_MANY_UPLOADS, allowed
from mediation.web.complainant.portal_forms import DocumentForm, MessageForm
from mediation.web.complainant.routes import blueprint
from mediation.web.complainant.session import current_complainant
from mediation.web.complainant.sign_in import session_ended
from mediation.web.downloads import attachment


def signed_out() -> Response:
    flash("Your session has ended. Sign in again with your case reference and passphrase.")
    return redirect(url_for(".sign_in"))


def render_portal(
    *,
    message_form: MessageForm | None = None,
    document_form: DocumentForm | None = None,
    problem: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    signed_in = current_complainant()
    assert signed_in is not None
    case, key = signed_in
    try:
        view = complainant_portal.portal(database(), case, key)
    except (ServiceError, VaultError) as exc:
        return render_template("complainant/portal_closed.html", message=str(exc)), 200
    statement_url = None
    if "complainant.statement" in current_app.view_functions:
        statement_url = url_for("complainant.statement")
    return render_template(
        "complainant/portal.html",
        view=view,
        message_form=message_form or MessageForm(formdata=None),
        document_form=document_form or DocumentForm(formdata=None),
        problem=problem,
        statement_url=statement_url,
        limits={
            "per_file": megabytes(int(current_app.config["MAX_DOCUMENT_BYTES"])),
            "types": ALLOWED_EXTENSIONS_TEXT,
        },
        cleaning_notice=BEFORE_UPLOAD_NOTICE,
    ), status


@blueprint.route("/")
@public
def portal() -> Response | tuple[str, int]:
    if current_complainant() is None:
        return redirect(url_for(".sign_in"))
    return render_portal()


@blueprint.route("/messages", methods=["POST"])
@public
def send_message() -> Response | tuple[str, int]:
    form = MessageForm()
    text = form.text.data or ""
    signed_in = current_complainant()
    if signed_in is None:
        return session_ended("message", text)
    if form.validate_on_submit():
        try:
            complainant_portal.send_message(database(), signed_in[0], text)
        except ServiceError as exc:
            db.session.rollback()
            return render_portal(message_form=form, problem=str(exc))
        db.session.commit()
        flash("Your message has been sent.", "success")
        return redirect(url_for(".portal") + "#messages")
    return render_portal(message_form=form)


@blueprint.route("/documents", methods=["POST"])
@public
def add_documents() -> Response | tuple[str, int]:
    try:
        request.files  # noqa: B018  (reading the body is what finds it too large)
    except RequestEntityTooLarge:
        if current_complainant() is None:
            return signed_out()
        limit = megabytes(int(current_app.config["MAX_CONTENT_LENGTH"]))
        return render_portal(
            problem=f"The files you chose add up to more than {limit}, the most we can take at "
            "once. Choose fewer or smaller files.",
            status=413,
        )
    form = DocumentForm()
    signed_in = current_complainant()
    if signed_in is None:
        return signed_out()
    if not form.validate_on_submit():
        return render_portal(document_form=form)
    files = [f for f in request.files.getlist("files") if f.filename]
    if not files:
        return render_portal(problem="Choose a file to add.")
    if not allowed("UPLOAD_RATE_LIMIT"):
        return render_portal(problem=TOO_MANY_UPLOADS, status=429)
    config = current_app.config
    limits = complainant_portal.CaseDocumentLimits(
        per_file=int(config["MAX_DOCUMENT_BYTES"]),
        documents=int(config["MAX_CASE_DOCUMENTS"]),
        total_bytes=int(config["MAX_CASE_DOCUMENT_BYTES"]),
    )
    try:
        for storage in files:
            complainant_portal.add_document(
                database(),
                signed_in[0],
                storage.filename or "",
                storage.read(limits.per_file + 1),
                limits=limits,
                keep_as_sent=bool(form.keep_as_sent.data),
            )
    except ServiceError as exc:
        db.session.rollback()
        kept = "" if len(files) == 1 else " None of the files you chose was added."
        return render_portal(document_form=form, problem=str(exc) + kept)
    db.session.commit()
    # The names stay out of the flash (it travels in the session cookie): the list of
    # documents says, file by file, what was removed.
    flash(
        "Your documents have been added. The list of documents says what we removed from each.",
        "success",
    )
    return redirect(url_for(".portal") + "#documents")


@blueprint.route("/documents/<int:document_id>")
@public
def download_document(document_id: int) -> Response | tuple[str, int]:
    signed_in = current_complainant()
    if signed_in is None:
        return signed_out()
    case, key = signed_in
    try:
        case_key = complaints.complainant_case_key(case, key)
        name, content = complainant_portal.read_document(database(), case, case_key, document_id)
    except (ServiceError, VaultError) as exc:
        return render_template("complainant/portal_closed.html", message=str(exc)), 404
    response = current_app.response_class(content, mimetype=content_type_for(name))
    # Always a download: a document must never render as a page of this site.
    response.headers["Content-Disposition"] = attachment(name)
    return response


@blueprint.route("/disclosures")
@public
def disclosures() -> Response | str:
    signed_in = current_complainant()
    if signed_in is None:
        return signed_out()
    case, key = signed_in
    try:
        # The reasons are sealed to the case key, which the complainant holds.
        case_key: KeyPair | None = complaints.complainant_case_key(case, key)
    except (ServiceError, VaultError):
        case_key = None
    entries: list[Any] = identity_access.disclosure_log(database(), case, case_key)
    return render_template("complainant/disclosures.html", case=case, entries=entries)
