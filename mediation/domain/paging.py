"""Page arithmetic for lists shown a page at a time (the case queue, a public body's cases)."""

from __future__ import annotations


def page_count(total: int, page_size: int | None) -> int:
    """How many pages `total` items fill (at least one; one when not paged)."""
    if not page_size:
        return 1
    return max(1, -(-total // page_size))


def first_number(page: int, page_size: int | None, shown: int) -> int:
    """The number of the first item on the page, counting from 1 (0 on an empty page)."""
    return (page - 1) * (page_size or 0) + 1 if shown else 0


def last_number(page: int, page_size: int | None, shown: int) -> int:
    """The number of the last item on the page (0 on an empty page)."""
    return first_number(page, page_size, shown) + shown - 1 if shown else 0
