"""The one check every request's query string passes before any view reads it.

No page here takes a query value longer than a release id, a page number or a return
address, and none takes a control character: a NUL sent on to PostgreSQL (in a queue
filter, say) made the driver fail, a 500. Such a parameter never reaches a view, a service
or the database. A page goes on without it and says so (a sign-in with an odd `next` still
signs in); the JSON API, whose callers are programs, refuses the request with a 400 that
says what is wrong.
"""

from __future__ import annotations

import re

from flask import flash, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest

# Far past the longest value any page's links or forms put in an address.
MAX_QUERY_VALUE = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
WHAT_IS_WRONG = f"a control character, or more than {MAX_QUERY_VALUE:,} characters in one value"
IGNORED = f"Part of the web address could not be used ({WHAT_IS_WRONG}), so it was ignored."


class UnusableQuery(BadRequest):
    """A query string no page or document of the service could have written."""

    description = (
        f"The query string has a value this service cannot use ({WHAT_IS_WRONG}). "
        "Send the request without it."
    )


def usable(name: str, value: str) -> bool:
    """Whether a query parameter can be read by a view: short, and no control character."""
    return (
        len(name) <= MAX_QUERY_VALUE
        and len(value) <= MAX_QUERY_VALUE
        and not _CONTROL.search(name)
        and not _CONTROL.search(value)
    )


def check_query_parameters() -> None:
    """Before every request: the JSON API refuses an unusable parameter (UnusableQuery);
    a page drops it from `request.args`, with a message on the page."""
    given = list(request.args.items(multi=True))
    kept = [(name, value) for name, value in given if usable(name, value)]
    if len(kept) == len(given):
        return
    if request.path.startswith("/api/"):
        raise UnusableQuery()
    request.args = ImmutableMultiDict(kept)
    flash(IGNORED)
