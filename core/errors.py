"""Domain errors. Edges translate them: HTTP 4xx, a friendly bot reply, a CLI message."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The thing does not exist, or the actor may not see it."""


class PermissionDenied(DomainError):
    """The actor may see the thing but not do this to it."""


class Conflict(DomainError):
    """The change clashes with existing data; `existing_id` points at it."""

    def __init__(self, message: str, *, existing_id: int | None = None) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class InvalidInput(DomainError):
    """A value is wrong; `field` names it."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
