"""Expected failures of the service layer; the web layer shows each message as it is."""

from __future__ import annotations


class ServiceError(Exception):
    """An expected refusal with a message that is safe to show to the person acting."""

    default_message = "That could not be done."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self)


class NotFound(ServiceError):
    default_message = "That could not be found."


class NotAllowed(ServiceError):
    default_message = "You do not have permission to do that."


class InvalidInput(ServiceError):
    default_message = "Check what you entered and try again."
