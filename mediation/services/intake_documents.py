"""Documents a complainant may attach: accepted types, size limits, safe file names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from mediation.domain.document_cleaning import (
    KEEP_AS_SENT_LABEL,
    CleaningNote,
    NotCleanable,
    clean_document,
)
from mediation.services.errors import InvalidInput

SHORT_TEXT = 200
# Of a file name, only so many characters are ever read (it is kept to SHORT_TEXT).
_NAME_READ = 5 * SHORT_TEXT
MAX_DOCUMENTS = 10
# Files a complainant may attach: common office documents, text, e-mail and images.
DOCUMENT_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
    "rtf": "application/rtf",
    "txt": "text/plain",
    "csv": "text/csv",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "eml": "message/rfc822",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
}
ALLOWED_EXTENSIONS_TEXT = (
    "PDF, Word, OpenDocument, RTF, text, CSV, Excel, e-mail (.eml), JPEG or PNG"
)
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\\ud800-\udfff]")


class DocumentRefused(InvalidInput):
    """An uploaded file of the wrong type, too large, or one too many."""


class DocumentNotCleaned(DocumentRefused):
    """A file whose details could not be removed, sent without the sender's consent to
    keep it as it is."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(
            f"We could not remove the hidden details from “{name}”: {reason} We keep such a "
            f"file only if you tick “{KEEP_AS_SENT_LABEL}” and add it again."
        )
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class Upload:
    """A document to attach: a cleaned file name and its bytes, and for a complainant's
    file what was removed from it (None: not cleaned, as for a public body's files)."""

    name: str
    content: bytes
    cleaning: CleaningNote | None = None

    @property
    def content_type(self) -> str:
        return content_type_for(self.name)


def content_type_for(name: str) -> str:
    return DOCUMENT_TYPES.get(extension_of(name), "application/octet-stream")


def extension_of(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def clean_file_name(raw: str) -> str:
    """The last path part, without control or format characters; never empty. Format
    characters (Unicode Cf) include the bidirectional overrides, with which
    "report<U+202E>fdp.txt" shows as "reporttxt.pdf" to whoever opens it. A long name
    is shortened before its extension, which is what decides whether we take the file."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    if len(name) > _NAME_READ:
        # Cut before the character-by-character cleaning below: a 19 MB name took 5 s.
        stem, dot, extension = name.rpartition(".")
        keep = dot and 0 < len(extension) <= 10
        name = stem[:_NAME_READ] + "." + extension if keep else name[:_NAME_READ]
    name = _UNSAFE_NAME.sub("", name)
    name = "".join(c for c in name if unicodedata.category(c) != "Cf").strip()
    if len(name) > SHORT_TEXT:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: SHORT_TEXT - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:SHORT_TEXT]
    return name or "document"


def check_document(name: str, size: int, *, max_bytes: int) -> None:
    """Refuse a file of a type we do not take, an empty one, or one over the size limit."""
    if extension_of(name) not in DOCUMENT_TYPES:
        raise DocumentRefused(f"“{name}” is not a file type we accept: {ALLOWED_EXTENSIONS_TEXT}.")
    if size == 0:
        raise DocumentRefused(f"“{name}” is empty.")
    if size > max_bytes:
        raise DocumentRefused(
            f"“{name}” is larger than {megabytes(max_bytes)}, the limit per file."
        )


def cleaned_upload(name: str, content: bytes, *, keep_as_sent: bool) -> Upload:
    """The file without the details it carries about its making, and what was removed;
    a file that cannot be cleaned is kept as it is only with `keep_as_sent` (the sender's
    explicit consent), else DocumentNotCleaned."""
    try:
        cleaned = clean_document(name, content)
    except NotCleanable as exc:
        if not keep_as_sent:
            raise DocumentNotCleaned(name, exc.reason) from None
        return Upload(name, content, CleaningNote(kept_as_sent=exc.reason))
    return Upload(name, cleaned.content, CleaningNote(removed=cleaned.removed))


def prepare_upload(raw_name: str, content: bytes, *, max_bytes: int, keep_as_sent: bool) -> Upload:
    """A complainant's file as it will be sealed: its name made safe, its type and size
    checked (as sent), its details removed."""
    name = clean_file_name(raw_name)
    check_document(name, len(content), max_bytes=max_bytes)
    return cleaned_upload(name, content, keep_as_sent=keep_as_sent)


def megabytes(size: int) -> str:
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"
