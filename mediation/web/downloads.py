"""Every download's headers, built here only: safe for any name, whatever its script or bytes."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import Response

_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._ -]+")
# Longer names are cut: browsers and file systems refuse names much past 255 bytes.
MAX_NAME = 150


def _shown(name: str) -> str:
    """The name without what no file name may hold (control characters, NUL, line breaks,
    lone surrogates, other unassigned or private code points), cut to MAX_NAME characters."""
    kept = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    return kept.strip()[:MAX_NAME]


def attachment(name: str) -> str:
    """The Content-Disposition of every download: always a download, never shown as a page
    of this site. The name goes as UTF-8 (RFC 6266 `filename*`, percent-encoded, so no
    quote, semicolon or line break in it can end the parameter or the header), with a
    plain ASCII `filename` for the few clients without it: a header must be Latin-1, and a
    name with an en dash (as word processors write it) is not, and made the server fail
    the response."""
    name = _shown(name)
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    plain = _NOT_PLAIN.sub("_", plain).strip(" ._") or "document"
    encoded = quote(name or plain, safe="")
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}"


def csv_download(text: str, name: str) -> Response:
    """A CSV file sent as a download named `name` (its headers by `attachment`)."""
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": attachment(name)})
