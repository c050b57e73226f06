"""Page arithmetic for lists shown a page at a time (the case queue, a public body's cases)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Paged:
    """A page of a list: mixed into a dataclass with `rows` (this page's), `page` (from 1),
    `page_size` (None: everything on one page) and `counted` (every item, on every page)."""

    rows: Sequence[Any]
    page: int
    page_size: int | None

    @property
    def counted(self) -> int:
        raise NotImplementedError

    @property
    def pages(self) -> int:
        """How many pages the items fill (at least one; one when not paged)."""
        if not self.page_size:
            return 1
        return max(1, -(-self.counted // self.page_size))

    @property
    def first_number(self) -> int:
        """The number of the first item on the page, counting from 1 (0 on an empty page)."""
        return (self.page - 1) * (self.page_size or 0) + 1 if self.rows else 0

    @property
    def last_number(self) -> int:
        """The number of the last item on the page (0 on an empty page)."""
        return self.first_number + len(self.rows) - 1 if self.rows else 0


def page_count(total: int, page_size: int | None) -> int:
    """How many pages `total` items fill (for a list not yet read)."""
    return max(1, -(-total // page_size)) if page_size else 1
