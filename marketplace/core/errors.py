"""Domain errors raised by services; views turn them into messages or 404s."""


class DomainError(Exception):
    """A rule refused the action; the message is fit to show to the user."""

    def __init__(self, message: str = "", **details):
        super().__init__(message)
        self.message = message
        self.details = details


class NotAllowed(DomainError):
    """The acting user may not do this (views answer 404 for others' objects)."""


class NotFound(DomainError):
    pass


class InvalidState(DomainError):
    """The object is not in a state that allows this transition."""
