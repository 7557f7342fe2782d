"""Domain errors. Edges translate them: HTTP 4xx, a friendly bot reply, a CLI message.

1. `message` is English and for developers, logs, REST `detail` and the CLI (a contract:
   REST error texts do not change).
2. `code` (optional, kebab-case, stable) and `args` (plain values) are for people: the bot
   renders `err-<code>` from its locale files with `args`. Codes are part of the contract;
   renaming one needs the locale keys renamed too (tests/bot/test_locale_keys.py checks).
3. An error without a code still reaches a user only as a generic sentence in their
   language, never with the English `message` inside.
"""

from __future__ import annotations

from collections.abc import Mapping

ErrorArgs = Mapping[str, str | int]


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    def __init__(
        self, message: str, *, code: str | None = None, args: ErrorArgs | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        # Not `self.args`: Exception already owns that name.
        self.params: dict[str, str | int] = dict(args or {})


class NotFound(DomainError):
    """The thing does not exist, or the actor may not see it."""


class PermissionDenied(DomainError):
    """The actor may see the thing but not do this to it."""


class Conflict(DomainError):
    """The change clashes with existing data; `existing_id` points at it."""

    def __init__(
        self,
        message: str,
        *,
        existing_id: int | None = None,
        code: str | None = None,
        args: ErrorArgs | None = None,
    ) -> None:
        super().__init__(message, code=code, args=args)
        self.existing_id = existing_id


class InvalidInput(DomainError):
    """A value is wrong; `field` names it."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        args: ErrorArgs | None = None,
    ) -> None:
        super().__init__(message, code=code, args=args)
        self.field = field
