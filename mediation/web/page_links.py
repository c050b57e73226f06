"""The page of a list that a request asks for, and the links to the pages either side."""

from __future__ import annotations

from typing import Any

from flask import request, url_for

# Far past any real list, and small enough that no database is asked for an offset that
# overflows its integers (a page number typed into the address bar, say).
MAX_PAGE = 100_000


def requested_page() -> int:
    """`?page=N` as asked, kept within 1 and MAX_PAGE (a page past the last shows the last)."""
    number = request.args.get("page", 1, type=int) or 1
    return min(max(1, number), MAX_PAGE)


def neighbours(endpoint: str, page: int, pages: int, **kept: Any) -> tuple[str | None, str | None]:
    """The links to the previous and the next page, where there is one."""

    def link(number: int) -> str | None:
        if not 1 <= number <= pages or number == page:
            return None
        return url_for(endpoint, **kept, page=number if number > 1 else None)

    return link(page - 1), link(page + 1)
