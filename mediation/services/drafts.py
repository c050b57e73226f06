"""Drafts of complaints: answers and files kept sealed between pages of the form.

Each draft has its own random key, which lives only in the complainant's draft cookie:
the database (or a backup) alone cannot read a draft, and a restarted worker loses
nothing. Drafts are deleted once submitted and shown, or when they expire.
"""

from __future__ import annotations

import json
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mediation.domain.coarse_time import day_end, day_start
from mediation.domain.document_cleaning import CleaningNote
from mediation.models.intake import Draft, DraftDocument
from mediation.models.time import as_utc
from mediation.services import sealed_clocks
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


# A file's exact size is sealed with its name (a marker byte, the size in 8 bytes, then the
# name), never stored in the clear: the contents are padded, and a size column beside them
# would say what the padding hides. A name sealed before (no marker: a cleaned name has no
# control characters) takes its size from its contents, which were sealed unpadded then.
_NAME_WITH_SIZE = b"\x01"
_SIZE = struct.Struct(">Q")


def _name_plaintext(name: str, size: int) -> bytes:
    return _NAME_WITH_SIZE + _SIZE.pack(size) + name.encode("utf-8")


def _name_parts(plain: bytes) -> tuple[str, int | None]:
    """A sealed name's plaintext as the name and the size sealed with it (None before)."""
    header = len(_NAME_WITH_SIZE) + _SIZE.size
    if plain.startswith(_NAME_WITH_SIZE) and len(plain) >= header:
        return plain[header:].decode("utf-8"), _SIZE.unpack_from(plain, len(_NAME_WITH_SIZE))[0]
    return plain.decode("utf-8"), None


def _name_of(draft: Draft, document: DraftDocument, ticket: DraftTicket) -> tuple[str, int | None]:
    return _name_parts(
        decrypt_symmetric(
            document.sealed_name, ticket.key, _document_context(draft.id, document.id, "name")
        )
    )


def _content_of(draft: Draft, document: DraftDocument, ticket: DraftTicket) -> bytes:
    return decrypt_symmetric(
        document.sealed_content, ticket.key, _document_context(draft.id, document.id, "content")
    )


def _name_and_size(draft: Draft, document: DraftDocument, ticket: DraftTicket) -> tuple[str, int]:
    name, size = _name_of(draft, document, ticket)
    if size is None:
        size = len(_content_of(draft, document, ticket))
    return name, size


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
    draft = Draft(id=ticket.draft_id, status=OPEN, created_at=day_start(now))
    _touch(draft, ticket, now)
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
    # A draft from before the exact deadline was sealed has only the rounded-up one.
    if draft.clock is not None:
        deadline = sealed_clocks.open_clock(draft.clock, ticket.key, _clock_context(draft.id), 1)
        if deadline is None or deadline[0] <= now:
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
    _touch(draft, ticket, now)


def _clock_context(draft_id: str) -> str:
    return f"draft:{draft_id}:expiry"


def _touch(draft: Draft, ticket: DraftTicket, now: datetime) -> None:
    """Keep the draft another 24 hours: exactly under the draft key, and readable only as
    the day it was saved and the midnight after its deadline (G11)."""
    deadline = now + DRAFT_LIFETIME
    draft.updated_at = day_start(now)
    draft.expires_at = day_end(deadline)
    draft.clock = sealed_clocks.seal([deadline], ticket.key, _clock_context(draft.id))


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
    held = sum(_name_and_size(draft, d, ticket)[1] for d in draft.documents)
    if held + len(content) > max_total_bytes:
        raise DocumentRefused(
            f"“{name}” would take your documents over {megabytes(max_total_bytes)} in all."
        )
    document = DraftDocument(sealed_name=b"", sealed_content=b"", added_at=day_start(now))
    draft.documents.append(document)
    session.flush()
    document.sealed_name = encrypt_symmetric(
        _name_plaintext(name, len(content)),
        ticket.key,
        _document_context(draft.id, document.id, "name"),
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
    _touch(draft, ticket, now)
    return DocumentInfo(document.id, name, len(content), upload.cleaning)


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
        DocumentInfo(d.id, *_name_and_size(draft, d, ticket), _cleaning_of(draft, d, ticket.key))
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
        name, _size = _name_of(draft, d, ticket)
        content = _content_of(draft, d, ticket)
        note = _cleaning_of(draft, d, ticket.key)
        if note is None:
            # Added before files were cleaned (a draft from before the upgrade): cleaned
            # now, and kept as it was added if it cannot be, as it was then.
            uploads.append(cleaned_upload(name, content, keep_as_sent=True))
            continue
        uploads.append(Upload(name, content, note))
    return uploads


def remove_document(
    session: Session, ticket: DraftTicket | None, document_id: int, now: datetime
) -> None:
    draft = open_draft(session, ticket, now)
    assert ticket is not None
    for document in list(draft.documents):
        if document.id == document_id:
            draft.documents.remove(document)
    _touch(draft, ticket, now)


def discard(session: Session, ticket: DraftTicket | None) -> None:
    """Delete a draft and its files now (the complainant's choice). Caller commits."""
    if ticket is None:
        return
    session.execute(delete(DraftDocument).where(DraftDocument.draft_id == ticket.draft_id))
    session.execute(delete(Draft).where(Draft.id == ticket.draft_id))


def purge_expired(session: Session, now: datetime) -> int:
    """Delete drafts (and their files, and unshown receipts) past their expiry, as the row
    says it: the midnight after the exact deadline, which only the draft key can read."""
    expired = list(session.execute(select(Draft.id).where(Draft.expires_at <= now)).scalars())
    if expired:
        session.execute(delete(DraftDocument).where(DraftDocument.draft_id.in_(expired)))
        session.execute(delete(Draft).where(Draft.id.in_(expired)))
    return len(expired)
