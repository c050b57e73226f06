"""The Content-Disposition of a document sent for download, whatever its name's script."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._ -]+")


def attachment(name: str) -> str:
    """Always a download, never shown as a page of this site. The name goes as UTF-8
    (RFC 6266 `filename*`), with a plain ASCII `filename` for the few clients without it:
    a header must be Latin-1, and a name with an en dash (as word processors write it)
    is not, and made the server fail the response."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    plain = _NOT_PLAIN.sub("_", plain).strip(" ._") or "document"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
