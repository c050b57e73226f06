"""Check your answers: the saved pages as summary lists, and what still needs fixing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from mediation.domain.taxonomy import load_taxonomy
from mediation.extensions import database
from mediation.models.bodies import RespondentBody
from mediation.services import intake
from mediation.services.drafts import DocumentInfo
from mediation.services.intake_rules import IntakeInvalid, megabytes, parse_complaint, row_id
from mediation.web.complainant.forms import NOT_LISTED, OPENNESS_CHOICES, STEP_FORMS

Row = tuple[str, str | None, tuple[str, str]]


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[Row]


@dataclass(frozen=True)
class Problem:
    message: str
    url: str


def step_url(step: str) -> str:
    """A page of the form that, once saved, comes back to check your answers."""
    values: dict[str, Any] = {"step": step, "return": "check"}
    return url_for(".step", **values)


def _change(step: str) -> tuple[str, str]:
    return (step_url(step), "Change")


def _page(saved: dict[str, Any], step: str) -> dict[str, Any]:
    value = saved.get(step)
    return value if isinstance(value, dict) else {}


def _label(pairs: list[tuple[str, str]] | tuple[tuple[str, str], ...], value: Any) -> str | None:
    return next((label for key, label in pairs if key == value), None)


def _body_text(page: dict[str, Any]) -> str | None:
    body_id = str(page.get("body_id") or "")
    if body_id == NOT_LISTED:
        kind = _label(load_taxonomy().body_type_choices(), page.get("body_type"))
        name = str(page.get("body_name") or "").strip()
        return f"{name} (not on our list; {kind or 'kind not given'})" if name else None
    if (chosen := row_id(body_id)) is not None:
        body = (
            database()
            .execute(
                select(RespondentBody).where(
                    RespondentBody.id == chosen, RespondentBody.confirmed.is_(True)
                )
            )
            .scalar_one_or_none()
        )
        return body.name if body else None
    return None


def sections(saved: dict[str, Any], documents: list[DocumentInfo]) -> list[Section]:
    """Every answer, page by page, each with a link back to change it."""
    taxonomy = load_taxonomy()
    openness = _page(saved, "openness").get("openness")
    breaches = _page(saved, "breaches")
    category_labels = [
        _label(taxonomy.category_choices(), c) or c for c in breaches.get("categories") or []
    ]
    steps = _page(saved, "steps")
    result = [
        Section(
            "Your complaint",
            [
                ("How open", _label(OPENNESS_CHOICES, openness), _change("openness")),
                ("Public body", _body_text(_page(saved, "body")), _change("body")),
                ("Parts of the Compact", ", ".join(category_labels), _change("breaches")),
                (
                    "Paragraph",
                    _label(taxonomy.paragraph_choices(), breaches.get("paragraph")),
                    _change("breaches"),
                ),
                ("Other reference", breaches.get("reference"), _change("breaches")),
                (
                    "What happened",
                    _page(saved, "what_happened").get("what_happened"),
                    _change("what_happened"),
                ),
                ("When", _page(saved, "what_happened").get("when"), _change("what_happened")),
                (
                    "Raised with the public body",
                    {"yes": "Yes", "no": "No"}.get(steps.get("raised_with_body") or ""),
                    _change("steps"),
                ),
                ("What you did", steps.get("steps_taken"), _change("steps")),
                (
                    "Outcome you want",
                    _page(saved, "outcome").get("outcome_sought"),
                    _change("outcome"),
                ),
                (
                    "Effect on people you help",
                    _page(saved, "impact").get("impact"),
                    _change("impact"),
                ),
                (
                    "Documents",
                    "; ".join(f"{d.name} ({megabytes(d.size)})" for d in documents) or None,
                    _change("documents"),
                ),
            ],
        )
    ]
    if openness != "anonymous":
        about = _page(saved, "about")
        result.append(
            Section(
                "About your organisation",
                [
                    ("Organisation", about.get("organisation"), _change("about")),
                    ("Contact", about.get("contact_name"), _change("about")),
                    ("Email", about.get("email"), _change("about")),
                    ("Phone", about.get("phone"), _change("about")),
                    (
                        "Updates by email",
                        "Yes" if about.get("email_updates") is True else "No",
                        _change("about"),
                    ),
                    (
                        "Region",
                        _label(taxonomy.region_choices(), about.get("region")),
                        _change("about"),
                    ),
                    (
                        "Yearly income",
                        _label(taxonomy.size_band_choices(), about.get("size_band")),
                        _change("about"),
                    ),
                ],
            )
        )
    return result


def _as_formdata(page: dict[str, Any]) -> MultiDict[str, str]:
    pairs: list[tuple[str, str]] = []
    for key, value in page.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                pairs.append((key, str(item)))
    return MultiDict(pairs)


def problems(saved: dict[str, Any]) -> list[Problem]:
    """Each page's own checks, then the complaint's as a whole, as links to the pages."""
    found: list[Problem] = []
    openness = _page(saved, "openness").get("openness")
    for step in intake.steps_for(openness):
        if step == "documents":
            continue
        page = _page(saved, step)
        kwargs: dict[str, Any] = {}
        if step == "body":
            chosen = str(page.get("body_id") or "")
            name = _body_text(page) if row_id(chosen) is not None else None
            kwargs["bodies"] = [(chosen, name)] if name else []
        form = STEP_FORMS[step](formdata=_as_formdata(page), meta={"csrf": False}, **kwargs)
        if not form.validate():
            url = step_url(step)
            for messages in form.errors.values():
                found.extend(Problem(str(m), url) for m in messages if isinstance(m, str))
    if found:
        return found
    try:
        parse_complaint(
            intake.submission_from_answers(saved), max_document_bytes=0
        )  # files are checked on upload
    except IntakeInvalid as exc:
        return describe(exc.errors)
    return []


def describe(errors: dict[str, str]) -> list[Problem]:
    return [Problem(message, step_url(intake.step_of(path))) for path, message in errors.items()]
