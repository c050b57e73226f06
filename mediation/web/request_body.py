"""The one way any request's body is read: a body the client cut short or garbled is a 400.

Every form, upload and JSON document is read from `wsgi.input` through the wrapper below,
installed once around the whole application. Without it, gunicorn's own parser errors (an
invalid chunk size, a chunk without its terminator: subclasses of `Exception`, not of
`OSError`, so Werkzeug's stream does not catch them) surfaced as a 500 on every endpoint
that reads a body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, TypeVar

from werkzeug.exceptions import BadRequest, HTTPException

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

T = TypeVar("T")


class UnreadableBody(BadRequest):
    """The body could not be read as sent: its chunked encoding is broken, or it ended early."""

    description = (
        "What was sent could not be read: it ended early or its chunked encoding is broken. "
        "Nothing was changed. Send it again."
    )


class _GuardedInput:
    """`wsgi.input`, with every error the server raises while reading turned into an
    UnreadableBody. Whatever the server raises is the client's doing (the body is the
    only input read here), so every exception counts, not only OSError."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        return self._guard(self._stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        return self._guard(self._stream.readline, size)

    def readlines(self, hint: int = -1) -> list[bytes]:
        return self._guard(self._stream.readlines, hint)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def _guard(self, read: Callable[[int], T], size: int) -> T:
        try:
            return read(size)
        except HTTPException:
            raise
        except Exception as exc:
            raise UnreadableBody() from exc


class ReadableBody:
    """WSGI middleware: the application only ever reads its body through _GuardedInput."""

    def __init__(self, application: WSGIApplication) -> None:
        self.application = application

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        stream = environ.get("wsgi.input")
        if stream is not None:
            environ["wsgi.input"] = _GuardedInput(stream)
        return self.application(environ, start_response)
