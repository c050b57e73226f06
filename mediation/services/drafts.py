"""Drafts of complaints: answers and files kept sealed between pages of the form.

Each draft has its own random key, which lives only in the complainant's draft cookie:
the database (or a backup) alone cannot read a draft, and a restarted worker loses
nothing. Drafts are deleted once submitted and shown, or when they expire.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mediation.domain.document_cleaning import CleaningNote
from mediation.models.intake import Draft, DraftDocument
from mediation.models.time import as_utc
from mediation.services.errors import ServiceError
from mediation.services.intake_rules import (
    MAX_DOCUMENTS,
    DocumentRefused,
    Upload,
    check_document,
    clean_file_name,
    cleaned_upload,
    megabytes,
)
from mediation.vault import (
    VaultError,
    decode_cookie_key,
    decrypt_symmetric,
    encode_cookie_key,
    encrypt_symmetric,
    generate_symmetric_key,
)

DRAFT_LIFETIME = timedelta(hours=24)
OPEN = "open"
SUBMITTED = "submitted"


class DraftMissing(ServiceError):
    default_message = (
        "We could not find your draft. Drafts are deleted 24 hours after they were last "
        "saved, or when the browser's cookies are cleared. Please start again."
    )


@dataclass(frozen=True)
class DraftTicket:
    """What the draft cookie carries: which draft, and the only key that opens it."""

    draft_id: str
    key: bytes

    def to_cookie(self) -> str:
        return f"{self.draft_id}.{encode_cookie_key(self.key)}"

    @classmethod
    def from_cookie(cls, value: str | None) -> DraftTicket | None:
        if not value or "." not in value:
            return None
        draft_id, _, encoded = value.partition(".")
        if len(draft_id) != 64 or not all(ch in "0123456789abcdef" for ch in draft_id):
            return None
        try:
            return cls(draft_id, decode_cookie_key(encoded))
        except VaultError:
            return None


@dataclass(frozen=True)
class DocumentInfo:
    """A draft's file as listed to the complainant."""

    id: int
    name: str
    size: int
    # What was removed from it, or that it was kept as sent (None: added before cleaning).
    cleaning: CleaningNote | None = None


def _answers_context(draft_id: str) -> str:
    return f"draft:{draft_id}:answers"


def _document_context(draft_id: str, document_id: int, part: str) -> str:
    return f"draft:{draft_id}:document:{document_id}:{part}"


def receipt_context(draft_id: str) -> str:
    return f"draft:{draft_id}:receipt"


def start(session: Session, now: datetime) -> DraftTicket:
    """A new empty draft and its key (for the cookie). Caller commits."""
    purge_expired(session, now)
    ticket = DraftTicket(secrets.token_hex(32), generate_symmetric_key())
    draft = Draft(
        id=ticket.draft_id,
        status=OPEN,
        created_at=now,
        updated_at=now,
        expires_at=now + DRAFT_LIFETIME,
    )
    draft.answers = encrypt_symmetric(b"{}", ticket.key, _answers_context(draft.id))
    session.add(draft)
    return ticket


def find(session: Session, ticket: DraftTicket | None, now: datetime) -> Draft | None:
    """The ticket's draft if it exists and has not expired (any status)."""
    if ticket is None:
        return None
    draft = session.get(Draft, ticket.draft_id)
    if draft is None or as_utc(draft.expires_at) <= now:
        return None
    return draft


def open_draft(session: Session, ticket: DraftTicket | None, now: datetime) -> Draft:
    """The ticket's draft, still being written; DraftMissing otherwise."""
    draft = find(session, ticket, now)
    if draft is None or draft.status != OPEN or ticket is None:
        raise DraftMissing()
    return draft


def answers(session: Session, ticket: DraftTicket | None, now: datetime) -> dict[str, Any]:
    """Everything saved so far, by step: {step: {field: value}}."""
    draft = open_draft(session, ticket, now)
    assert ticket is not None and draft.answers is not None
    try:
        plain = decrypt_symmetric(draft.answers, ticket.key, _answers_context(draft.id))
    except VaultError as exc:
        raise DraftMissing() from exc
    data: dict[str, Any] = json.loads(plain)
    return data


def save_step(
    session: Session,
    ticket: DraftTicket | None,
    step: str,
    values: dict[str, Any],
    now: datetime,
) -> None:
    """Keep one page's answers as typed (valid or not), and keep the draft alive. Caller commits."""
    saved = answers(session, ticket, now)
    saved[step] = values
    draft = open_draft(session, ticket, now)
    assert ticket is not None
    draft.answers = encrypt_symmetric(
        json.dumps(saved).encode("utf-8"), ticket.key, _answers_context(draft.id)
    )
    _touch(draft, now)


def _touch(draft: Draft, now: datetime) -> None:
    draft.updated_at = now
    draft.expires_at = now + DRAFT_LIFETIME


def add_document(
    session: Session,
    ticket: DraftTicket | None,
    raw_name: str,
    content: bytes,
    now: datetime,
    *,
    max_bytes: int,
    max_total_bytes: int,
    keep_as_sent: bool = False,
) -> DocumentInfo:
    """Seal a file into the draft, within the type, size and number limits, once the
    details it carries are removed (or, with `keep_as_sent`, kept as it is when they cannot
    be). Caller commits."""
    draft = open_draft(session, ticket, now)
    assert ticket is not None
    name = clean_file_name(raw_name)
    check_document(name, len(content), max_bytes=max_bytes)
    if len(draft.documents) >= MAX_DOCUMENTS:
        raise DocumentRefused(f"You can attach up to {MAX_DOCUMENTS} documents.")
    upload = cleaned_upload(name, content, keep_as_sent=keep_as_sent)
    content = upload.content
    if sum(d.size for d in draft.documents) + len(content) > max_total_bytes:
        raise DocumentRefused(
            f"“{name}” would take your documents over {megabytes(max_total_bytes)} in all."
        )
    document = DraftDocument(size=len(content), sealed_name=b"", sealed_content=b"", added_at=now)
    draft.documents.append(document)
    session.flush()
    document.sealed_name = encrypt_symmetric(
        name.encode("utf-8"), ticket.key, _document_context(draft.id, document.id, "name")
    )
    document.sealed_content = encrypt_symmetric(
        content, ticket.key, _document_context(draft.id, document.id, "content")
    )
    if upload.cleaning is not None:
        document.sealed_cleaning = encrypt_symmetric(
            upload.cleaning.to_json().encode("utf-8"),
            ticket.key,
            _document_context(draft.id, document.id, "cleaning"),
        )
    _touch(draft, now)
    return DocumentInfo(document.id, name, document.size, upload.cleaning)


def _cleaning_of(draft: Draft, document: DraftDocument, key: bytes) -> CleaningNote | None:
    if document.sealed_cleaning is None:
        return None
    plain = decrypt_symmetric(
        document.sealed_cleaning, key, _document_context(draft.id, document.id, "cleaning")
    )
    return CleaningNote.from_json(plain.decode("utf-8"))


def list_documents(
    session: Session, ticket: DraftTicket | None, now: datetime
) -> list[DocumentInfo]:
    draft = open_draft(session, ticket, now)
    assert ticket is not None
    return [
        DocumentInfo(
            d.id,
            decrypt_symmetric(
                d.sealed_name, ticket.key, _document_context(draft.id, d.id, "name")
            ).decode("utf-8"),
            d.size,
            _cleaning_of(draft, d, ticket.key),
        )
        for d in draft.documents
    ]


def read_documents(session: Session, ticket: DraftTicket | None, now: datetime) -> list[Upload]:
    """The draft's files, opened, for filing with the complaint."""
    draft = open_draft(session, ticket, now)
    assert ticket is not None
    return documents_of(draft, ticket)


def documents_of(draft: Draft, ticket: DraftTicket) -> list[Upload]:
    uploads = []
    for d in draft.documents:
        name = decrypt_symmetric(
            d.sealed_name, ticket.key, _document_context(draft.id, d.id, "name")
        )
        content = decrypt_symmetric(
            d.sealed_content, ticket.key, _document_context(draft.id, d.id, "content")
        )
        note = _cleaning_of(draft, d, ticket.key)
        if note is None:
            # Added before files were cleaned (a draft from before the upgrade): cleaned
            # now, and kept as it was added if it cannot be, as it was then.
            uploads.append(cleaned_upload(name.decode("utf-8"), content, keep_as_sent=True))
            continue
        uploads.append(Upload(name.decode("utf-8"), content, note))
    return uploads


def remove_document(
    session: Session, ticket: DraftTicket | None, document_id: int, now: datetime
) -> None:
    draft = open_draft(session, ticket, now)
    for document in list(draft.documents):
        if document.id == document_id:
            draft.documents.remove(document)
    _touch(draft, now)


def discard(session: Session, ticket: DraftTicket | None) -> None:
    """Delete a draft and its files now (the complainant's choice). Caller commits."""
    if ticket is None:
        return
    session.execute(delete(DraftDocument).where(DraftDocument.draft_id == ticket.draft_id))
    session.execute(delete(Draft).where(Draft.id == ticket.draft_id))


def purge_expired(session: Session, now: datetime) -> int:
    """Delete drafts (and their files, and unshown receipts) past their expiry."""
    expired = list(session.execute(select(Draft.id).where(Draft.expires_at <= now)).scalars())
    if expired:
        session.execute(delete(DraftDocument).where(DraftDocument.draft_id.in_(expired)))
        session.execute(delete(Draft).where(Draft.id.in_(expired)))
    return len(expired)
