"""What a complaint must contain: one set of rules for the web form, the JSON API and the CLI.

Pure Python (no Flask, no database): `parse_complaint` turns the API's JSON shape into a
`Complaint` or raises `IntakeInvalid` with one message per field path
(``identity.email``, ``breaches[0].category``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

from email_validator import EmailNotValidError, validate_email

from mediation.domain.taxonomy import Taxonomy, load_taxonomy
from mediation.domain.visible_text import visible
from mediation.services.errors import InvalidInput
from mediation.services.intake_documents import (
    ALLOWED_EXTENSIONS_TEXT,
    DOCUMENT_TYPES,
    MAX_DOCUMENTS,
    SHORT_TEXT,
    DocumentNotCleaned,
    DocumentRefused,
    Upload,
    check_document,
    clean_file_name,
    cleaned_upload,
    content_type_for,
    extension_of,
    megabytes,
)

OPENNESS_LEVELS = ("anonymous", "confidential", "open")
LONG_TEXT = 20_000
MAX_BREACHES = 20
# NUL cannot be stored by PostgreSQL, and a lone surrogate cannot be encoded to be sealed.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
_PHONE = re.compile(r"^\+?[0-9 ()\-]{7,20}$")
__all__ = [
    "ALLOWED_EXTENSIONS_TEXT",
    "DOCUMENT_TYPES",
    "LONG_TEXT",
    "MAX_DOCUMENTS",
    "SHORT_TEXT",
    "Complaint",
    "DocumentNotCleaned",
    "DocumentRefused",
    "IntakeInvalid",
    "Upload",
    "check_document",
    "check_email",
    "check_phone",
    "clean_file_name",
    "cleaned_upload",
    "content_type_for",
    "extension_of",
    "megabytes",
    "parse_complaint",
    "printable",
    "row_id",
]
TOP_LEVEL_FIELDS = frozenset(
    {
        "openness",
        "respondent_body",
        "breaches",
        "what_happened",
        "when",
        "raised_with_body",
        "steps_taken",
        "outcome_sought",
        "impact",
        "identity",
        "documents",
    }
)
MAX_ID = 2**31 - 1  # row ids are 32-bit integers on every engine
IDENTITY_FIELDS = (
    "organisation",
    "contact_name",
    "email",
    "phone",
    "region",
    "size_band",
    "email_updates",
)


class IntakeInvalid(InvalidInput):
    """The complaint is not complete or not valid; `errors` maps field paths to messages."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        count = len(self.errors)
        super().__init__(f"There {'is' if count == 1 else 'are'} {count} problem(s) to fix.")


@dataclass(frozen=True)
class BreachClaim:
    """One undertaking said to be broken: a category, maybe a paragraph, maybe a clause."""

    category: str
    paragraph: str | None = None
    reference: str = ""


@dataclass(frozen=True)
class NamedBody:
    """A respondent body given by name (and type, when it is not on our list)."""

    name: str
    body_type: str | None


@dataclass(frozen=True)
class Identity:
    """Who complains: never for an anonymous complaint; sealed otherwise."""

    organisation: str
    contact_name: str
    email: str
    phone: str
    region: str
    size_band: str
    # Asked for emails saying only that there is an update (notifications.CONSENT_KEYS).
    email_updates: bool = False

    def to_dict(self) -> dict[str, str | bool]:
        return {k: v for k, v in asdict(self).items() if v}


@dataclass(frozen=True)
class Complaint:
    """A complete, valid complaint, ready to be sealed and filed."""

    openness: str
    respondent_body_id: int | None
    named_body: NamedBody | None
    breaches: tuple[BreachClaim, ...]
    what_happened: str
    outcome_sought: str
    when: str = ""
    raised_with_body: bool | None = None
    steps_taken: str = ""
    impact: str = ""
    identity: Identity | None = None
    documents: tuple[Upload, ...] = field(default=())

    def narrative(self) -> str:
        """Every free-text answer as one JSON document, sealed to the case key as a whole."""
        return json.dumps(
            {
                "what_happened": self.what_happened,
                "when": self.when,
                "raised_with_body": self.raised_with_body,
                "steps_taken": self.steps_taken,
                "outcome_sought": self.outcome_sought,
                "impact": self.impact,
                "breaches": [asdict(b) for b in self.breaches],
                "respondent_body_named": self.named_body.name if self.named_body else None,
            },
            sort_keys=True,
        )


# The narrative's answers as staff read them, in the order the complainant gave them.
_ANSWER_LABELS = (
    ("respondent_body_named", "Public body, as the complainant named it"),
    ("breaches", "Parts of the Compact"),
    ("what_happened", "What happened"),
    ("when", "When"),
    ("raised_with_body", "Raised with the public body"),
    ("steps_taken", "What they did about it"),
    ("outcome_sought", "Outcome they want"),
    ("impact", "Effect on the people they help"),
)


def _breach_text(item: object, taxonomy: Taxonomy) -> str:
    if not isinstance(item, dict):
        return str(item)
    categories = dict(taxonomy.category_choices())
    paragraphs = dict(taxonomy.paragraph_choices())
    parts = [categories.get(str(item.get("category")), str(item.get("category") or ""))]
    if item.get("paragraph"):
        parts.append(paragraphs.get(str(item["paragraph"]), str(item["paragraph"])))
    if item.get("reference"):
        parts.append(f"reference: {item['reference']}")
    return "; ".join(p for p in parts if p)


def narrative_answers(narrative: str) -> list[tuple[str, str]] | None:
    """The intake's answers, labelled, from an opened narrative (the inverse of
    Complaint.narrative); None when the narrative is plain text (filed before the intake
    form existed, or by the demo). Empty answers are left out."""
    try:
        content = json.loads(narrative)
    except ValueError:
        return None
    if not isinstance(content, dict) or "what_happened" not in content:
        return None
    taxonomy = load_taxonomy()
    answers = []
    for key, label in _ANSWER_LABELS:
        value = content.get(key)
        if key == "breaches":
            text = "\n".join(_breach_text(b, taxonomy) for b in value or [])
        elif key == "raised_with_body":
            text = "Yes" if value is True else "No" if value is False else ""
        else:
            text = str(value or "").strip()
        if text:
            answers.append((label, text))
    return answers


def printable(text: str, limit: int = 200) -> str:
    """Only printable characters (no NUL, no control or lone surrogate), cut to a length.
    Only the first few times `limit` characters are read: a passphrase field of megabytes
    costs no more than one of the right length."""
    return "".join(ch for ch in text[: 4 * limit] if ch.isprintable())[:limit]


def row_id(value: object) -> int | None:
    """A row id typed or posted as text, or None when it cannot be one."""
    text = str(value or "")
    if text.isascii() and text.isdigit() and len(text) <= 10 and 0 < int(text) <= MAX_ID:
        return int(text)
    return None


def check_email(value: str) -> str | None:
    """An error message for an email address that is not valid, or None."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return "Enter an email address in the right format, like name@example.org"
    return None


def check_phone(value: str) -> str | None:
    if not _PHONE.match(value) or sum(ch.isdigit() for ch in value) < 7:
        return "Enter a phone number, like 01632 960 001 or +44 7700 900 982"
    return None


# Unknown fields named one by one in a refusal; past these, one line counts the rest, so
# that a body of 200,000 made-up fields gets a short answer rather than a list of them all.
MAX_UNKNOWN_LISTED = 10
# A field's name as quoted back in a refusal: a made-up name may be megabytes long.
MAX_QUOTED_NAME = 100


class FieldCheck:
    """Gathers one message per field path while reading a JSON document."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    def unknown(self, data: Mapping[str, Any], known: Iterable[str], prefix: str = "") -> None:
        """Refuse every field of `data` not in `known`: the first MAX_UNKNOWN_LISTED in the
        order sent by name (cut to MAX_QUOTED_NAME characters), then one message under
        `prefix` (the object's own path) counting the others, which are never gone through
        one by one."""
        expected = set(known)
        listed = list(islice((key for key in data if key not in expected), MAX_UNKNOWN_LISTED))
        for key in listed:
            name = str(key)[:MAX_QUOTED_NAME]
            self.add(f"{prefix}.{name}" if prefix else name, "Unknown field.")
        more = len(data) - sum(1 for key in expected if key in data) - len(listed)
        if more > 0:
            self.add(
                prefix,
                f"{more:,} more unknown field{'s' if more > 1 else ''}, not listed: send only "
                "the fields the API documents.",
            )

    def text(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: str | None = None,
        limit: int = LONG_TEXT,
    ) -> str:
        value = data.get(key)
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.add(path, "Must be text.")
            return ""
        # The limit is on what was sent, spaces included, as the OpenAPI document's
        # maxLength states it; the text kept is trimmed. Past the limit nothing more is done
        # with the value (no search, no check of its format): a refused field costs no more
        # than measuring it, where a 20 MB email address took 10-19 s to validate.
        if len(value) > limit:
            self.add(path, f"Must be {limit:,} characters or fewer.")
            return ""
        value = value.strip()
        if _UNSTORABLE.search(value):
            self.add(path, "Contains characters that cannot be stored. Remove them and try again.")
            return ""
        if required and not visible(value):
            self.add(path, required)
            return ""
        return value

    def choice(
        self, data: Mapping[str, Any], key: str, path: str, allowed: set[str], required: str
    ) -> str:
        value = data.get(key)
        if value in (None, ""):
            self.add(path, required)
            return ""
        if not isinstance(value, str) or value not in allowed:
            self.add(path, f"Must be one of: {', '.join(sorted(allowed))}.")
            return ""
        return value


def parse_complaint(
    data: Any, *, max_document_bytes: int, taxonomy: Taxonomy | None = None
) -> Complaint:
    """Check a complaint in the API's JSON shape; every problem is reported at once."""
    taxonomy = taxonomy or load_taxonomy()
    check = FieldCheck()
    if not isinstance(data, Mapping):
        raise IntakeInvalid({"": "Send a JSON object."})
    check.unknown(data, TOP_LEVEL_FIELDS)
    openness = check.choice(
        data, "openness", "openness", set(OPENNESS_LEVELS), "Choose how open your complaint is."
    )
    body_id, named_body = _parse_body(check, data.get("respondent_body"), taxonomy)
    breaches = _parse_breaches(check, data.get("breaches"), taxonomy)
    what_happened = check.text(
        data, "what_happened", "what_happened", required="Tell us what happened."
    )
    outcome_sought = check.text(
        data, "outcome_sought", "outcome_sought", required="Tell us what outcome you want."
    )
    raised = data.get("raised_with_body")
    if raised is not None and not isinstance(raised, bool):
        check.add("raised_with_body", "Must be true or false.")
        raised = None
    identity = _parse_identity(check, openness, data.get("identity"), taxonomy)
    documents = _parse_documents(check, data.get("documents"), max_document_bytes)
    complaint = Complaint(
        openness=openness,
        respondent_body_id=body_id,
        named_body=named_body,
        breaches=breaches,
        what_happened=what_happened,
        outcome_sought=outcome_sought,
        when=check.text(data, "when", "when", limit=SHORT_TEXT),
        raised_with_body=raised,
        steps_taken=check.text(data, "steps_taken", "steps_taken"),
        impact=check.text(data, "impact", "impact"),
        identity=identity,
        documents=documents,
    )
    if check.errors:
        raise IntakeInvalid(check.errors)
    return complaint


def _parse_body(
    check: FieldCheck, body: Any, taxonomy: Taxonomy
) -> tuple[int | None, NamedBody | None]:
    path = "respondent_body"
    if not isinstance(body, Mapping):
        check.add(path, "Tell us which public body the complaint is about.")
        return None, None
    allowed = {"id"} if "id" in body else {"name", "type"}
    for key in sorted({"id", "name", "type"}.intersection(body) - allowed):
        check.add(
            f"{path}.{key}", "Give either the id of a body on our list, or its name and type."
        )
    check.unknown(body, {"id", "name", "type"}, path)
    if "id" in body:
        value = body["id"]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_ID:
            check.add(f"{path}.id", "Must be the number of a body on our list.")
            return None, None
        return body["id"], None
    name = check.text(
        body,
        "name",
        f"{path}.name",
        required="Enter the name of the public body.",
        limit=SHORT_TEXT,
    )
    body_type = body.get("type")
    if body_type is None:
        return None, (NamedBody(name, None) if name else None)
    types = {t.id for t in taxonomy.body_types}
    if not isinstance(body_type, str) or body_type not in types:
        check.add(f"{path}.type", f"Must be one of: {', '.join(sorted(types))}.")
        return None, None
    return None, (NamedBody(name, body_type) if name else None)


def _parse_breaches(check: FieldCheck, raw: Any, taxonomy: Taxonomy) -> tuple[BreachClaim, ...]:
    if not isinstance(raw, list) or not raw:
        check.add("breaches", "Choose at least one part of the Compact that was broken.")
        return ()
    if len(raw) > MAX_BREACHES:
        check.add("breaches", f"List {MAX_BREACHES} breaches or fewer.")
        return ()
    categories = {c.id for c in taxonomy.categories}
    paragraphs = {key for key, _ in taxonomy.paragraph_choices()}
    claims = []
    for index, item in enumerate(raw):
        path = f"breaches[{index}]"
        if not isinstance(item, Mapping):
            check.add(path, "Each breach must be an object with a category.")
            continue
        check.unknown(item, {"category", "paragraph", "reference"}, path)
        paragraph = item.get("paragraph")
        category = item.get("category")
        if category is None and isinstance(paragraph, str) and paragraph in paragraphs:
            category = taxonomy.paragraph_by_key(paragraph).category
        category = check.choice(
            {"category": category}, "category", f"{path}.category", categories, "Choose a category."
        )
        if paragraph is not None and (
            not isinstance(paragraph, str) or paragraph not in paragraphs
        ):
            check.add(f"{path}.paragraph", "Must be a paragraph key from the taxonomy.")
            paragraph = None
        reference = check.text(item, "reference", f"{path}.reference", limit=SHORT_TEXT * 5)
        if category:
            claims.append(BreachClaim(category, paragraph, reference))
    return tuple(claims)


def _parse_identity(
    check: FieldCheck, openness: str, raw: Any, taxonomy: Taxonomy
) -> Identity | None:
    if openness == "anonymous":
        if raw is not None:
            check.add("identity", "Leave this out: an anonymous complaint says nothing about you.")
        return None
    if not isinstance(raw, Mapping):
        if openness:
            check.add("identity", "Tell us who you are, or choose to complain anonymously.")
        return None
    check.unknown(raw, IDENTITY_FIELDS, "identity")
    organisation = check.text(
        raw,
        "organisation",
        "identity.organisation",
        required="Enter the name of your organisation.",
        limit=SHORT_TEXT,
    )
    contact = check.text(
        raw,
        "contact_name",
        "identity.contact_name",
        required="Enter the name of the person we should contact.",
        limit=SHORT_TEXT,
    )
    email = check.text(raw, "email", "identity.email", limit=254)
    phone = check.text(raw, "phone", "identity.phone", limit=30)
    if not email and not phone:
        check.add("identity.email", "Enter an email address or a phone number.")
    if email and (problem := check_email(email)):
        check.add("identity.email", problem)
    if phone and (problem := check_phone(phone)):
        check.add("identity.phone", problem)
    region = check.choice(
        raw,
        "region",
        "identity.region",
        {r.id for r in taxonomy.regions},
        "Choose the region where your organisation works.",
    )
    size_band = check.choice(
        raw,
        "size_band",
        "identity.size_band",
        {s.id for s in taxonomy.size_bands},
        "Choose your organisation's yearly income.",
    )
    updates = raw.get("email_updates", False)
    if not isinstance(updates, bool):
        check.add("identity.email_updates", "Must be true or false.")
        updates = False
    elif updates and not email and "identity.email" not in check.errors:
        check.add(
            "identity.email_updates",
            "Give an email address for updates by email, or do not ask for them.",
        )
    return Identity(organisation, contact, email, phone, region, size_band, updates)


def _parse_documents(
    check: FieldCheck, raw: Any, max_bytes: int, *, clean: bool = True
) -> tuple[Upload, ...]:
    """Each `{"name", "content_base64"}` checked; with `clean` (a complainant's files) each
    also loses the details it carries, or is kept as sent where `"keep_as_sent": true`."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        check.add("documents", "Must be a list of documents.")
        return ()
    if len(raw) > MAX_DOCUMENTS:
        check.add("documents", f"Attach {MAX_DOCUMENTS} documents or fewer.")
        return ()
    uploads = []
    for index, item in enumerate(raw):
        path = f"documents[{index}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            check.add(f"{path}.name", "Give each document a file name.")
            continue
        name = clean_file_name(item["name"])
        encoded = item.get("content_base64")
        known = {"name", "content_base64", "keep_as_sent"} if clean else {"name", "content_base64"}
        check.unknown(item, known, path)
        keep_as_sent = item.get("keep_as_sent", False)
        if not isinstance(keep_as_sent, bool):
            check.add(f"{path}.keep_as_sent", "Must be true or false.")
            continue
        if not isinstance(encoded, str):
            check.add(f"{path}.content_base64", "Must be the file's contents in base64.")
            continue
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            check.add(f"{path}.content_base64", "Must be the file's contents in base64.")
            continue
        try:
            check_document(name, len(content), max_bytes=max_bytes)
        except DocumentRefused as exc:
            wrong_type = extension_of(name) not in DOCUMENT_TYPES
            check.add(f"{path}.name" if wrong_type else f"{path}.content_base64", str(exc))
            continue
        if not clean:
            uploads.append(Upload(name, content))
            continue
        try:
            uploads.append(cleaned_upload(name, content, keep_as_sent=keep_as_sent))
        except DocumentNotCleaned as exc:
            check.add(
                f"{path}.keep_as_sent",
                f"We could not remove the hidden details from “{name}”: {exc.reason} Send "
                '"keep_as_sent": true to keep it as it is, with whatever details it carries.',
            )
    return tuple(uploads)


def parse_api_documents(raw: Any, max_bytes: int, *, clean: bool = True) -> tuple[Upload, ...]:
    """Documents sent over JSON (`[{"name", "content_base64"}]`) after filing, checked as
    the intake checks them (and with `clean`, cleaned as it cleans them); raises
    IntakeInvalid naming each one that is refused."""
    check = FieldCheck()
    if raw is None or raw == []:
        check.add("documents", "Send at least one document.")
    uploads = _parse_documents(check, raw, max_bytes, clean=clean)
    if check.errors:
        raise IntakeInvalid(check.errors)
    return uploads


def parse_api_identity(raw: Any) -> dict[str, str | bool]:
    """Who complains, sent over JSON after filing (an anonymous complaint made more open),
    checked as the intake checks it; raises IntakeInvalid naming each field refused."""
    if not isinstance(raw, Mapping):
        raise IntakeInvalid(
            {"identity": "Tell us who you are: your organisation and how to reach you."}
        )
    check = FieldCheck()
    identity = _parse_identity(check, "confidential", raw, load_taxonomy())
    if check.errors or identity is None:
        raise IntakeInvalid(check.errors or {"identity": "Tell us who you are."})
    return identity.to_dict()
