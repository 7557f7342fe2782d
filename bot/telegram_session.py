"""The HTTP session the Bot talks through: whatever comes back becomes an aiogram error that
says what happened, and no error text carries the bot token.

1. A body that is not JSON, or JSON that is not a Bot API answer (a proxy's HTML 502 page, an
   empty body, a cut-off answer), raises `TelegramBadAnswer`: a `TelegramServerError` naming
   the HTTP status, what was wrong and the method ("Telegram answered 502 (not JSON) to
   getMe"), so whatever retries server errors (start-up, long polling, the outbox) retries it.
   aiogram's own `ClientDecodeError` is not a `TelegramAPIError` and carries the whole body.
2. An error's text never holds the token: request URLs do (`/bot<token>/<method>`), and so may
   the texts of aiohttp's errors that aiogram wraps; the token is replaced by `<token>` and the
   chained aiohttp error is dropped (a logged traceback would print it).
3. File downloads fail with `TelegramDownloadError` (status and file path, no URL).
4. Each answer's model, `Response[<what the method returns>]`, is built once per kind of
   answer and kept. aiogram asks pydantic for it on every request, and pydantic keeps the
   class it builds only weakly: the garbage collector dropped it between collections and the
   next request built it again (about a millisecond of schema building; 7 % of the bot's CPU
   while relaying client messages).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientError, ClientResponseError

if TYPE_CHECKING:
    from aiogram import Bot

TOKEN_MASK = "<token>"
# Telegram gave no usable answer: a network error or timeout, a 5xx or an unreadable body
# (TelegramBadAnswer). Waited out by start-up and by the outbox.
NO_ANSWER = (TelegramNetworkError, TelegramServerError)
# The Bot API refused the bot itself: its token (401), or no bot at that URL (404).
BOT_REFUSED = (TelegramUnauthorizedError, TelegramNotFound)
# Response models aiogram has asked for, held so that pydantic's weak cache keeps them.
_ANSWER_MODELS: dict[Any, type[Response[Any]]] = {}


class TelegramBadAnswer(TelegramServerError):
    """Telegram (or something in front of it) answered with a body aiogram cannot read."""

    def __init__(self, method: TelegramMethod[Any], *, status_code: int, what: str) -> None:
        self.status_code = status_code
        self.what = what
        name = method.__api_method__
        super().__init__(
            method=method, message=f"Telegram answered {status_code} ({what}) to {name}"
        )

    def __str__(self) -> str:
        return self.message


class TelegramDownloadError(Exception):
    """A file could not be downloaded from the Bot API server (the text holds no token)."""


def masked(text: str, token: str) -> str:
    """The text with the token replaced (tokens are in every request URL)."""
    return text.replace(token, TOKEN_MASK) if token and token in text else text


def _what_was_wrong(content: str, error: Exception) -> str:
    if not content.strip():
        return "empty body"
    if isinstance(error, ClientDecodeError) and error.message == "Failed to decode object":
        return "not JSON"
    return "not a Bot API answer"


class GuardedSession(AiohttpSession):
    """aiogram's aiohttp session with readable failures and texts free of the token."""

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in _ANSWER_MODELS:
            _ANSWER_MODELS[returning] = Response[returning]  # type: ignore[valid-type]
        try:
            return super().check_response(bot, method, status_code, content)
        except TelegramAPIError:
            raise
        except Exception as exc:  # a body aiogram cannot read, whatever the decoder raised
            raise TelegramBadAnswer(
                method, status_code=status_code, what=_what_was_wrong(content, exc)
            ) from None

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        try:
            return await super().make_request(bot, method, timeout)
        except TelegramAPIError as exc:
            exc.message = masked(exc.message, bot.token)
            # The wrapped aiohttp error's text may hold the URL, and so the token.
            exc.__cause__ = None
            exc.__suppress_context__ = True
            raise

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - aiogram's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        path = url.rsplit("/", 1)[-1]
        try:
            async for chunk in super().stream_content(
                url, headers, timeout, chunk_size, raise_for_status
            ):
                yield chunk
        except ClientResponseError as exc:
            raise TelegramDownloadError(
                f"downloading file {path}: Telegram answered {exc.status}"
            ) from None
        except (ClientError, TimeoutError) as exc:
            raise TelegramDownloadError(f"downloading file {path}: {type(exc).__name__}") from None


def guarded_session(api_url: str) -> GuardedSession:
    """A session for the official server, a self-hosted Bot API server or a test fake."""
    return GuardedSession(api=TelegramAPIServer.from_base(api_url.rstrip("/")))
