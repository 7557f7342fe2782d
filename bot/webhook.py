"""`POST /telegram/webhook`: Telegram's updates in webhook mode, behind the secret-token header.

1. Verify: `X-Telegram-Bot-Api-Secret-Token` compared in constant time, as bytes (a non-ASCII
   header must be a 403, not a 500); missing -> 401, wrong -> 403.
2. Parse: at most `MAX_BODY` bytes (413 beyond: a real update is a few kilobytes, a message
   with its replied-to message and entities stays far below), one Update object, else 400 with
   the reason, whatever the body holds (nesting too deep for the JSON parser included).
3. Claim: the update id is recorded (`core.telegram.updates.Claims`) before anything
   else; one claimed before is answered 200 and not handled again: Telegram redelivers an
   update it thinks was lost, and it must not make a second note. A database that cannot take
   the claim gets 503, so Telegram delivers the update again later.
4. Answer 200 at once and handle the update after the answer (aiogram's "handle in
   background"): Telegram waits for no handler, so a slow one causes no redelivery, and a
   method a handler returns is sent, not dropped. Failures are logged with the update id.
   The trade-off: once claimed, an update is handled at most once. If the process dies while
   handling it, it is lost whether the handler ran before or after the 200 (after the claim,
   a redelivery is dropped either way); the user sees no answer and sends again. Recording
   the update only after its handler instead would apply it twice whenever Telegram
   redelivers while the first delivery still runs, and would feed an update that kills the
   process to it again after every restart.
5. At most `MAX_RUNNING` handlers run at a time; beyond that the answer waits for a free
   slot, which slows Telegram down instead of queueing without bound. `drain()` lets the
   running ones finish at shutdown.

Long polling needs no claim: `getUpdates` with an offset confirms each update once, and the
dispatcher is also fed by tests and tools that reuse update ids.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from bot.deps import BotDeps
from bot.runtime import WEBHOOK_PATH
from core.telegram import updates as telegram_updates

log = logging.getLogger(__name__)
SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_BODY = 1024 * 1024  # bytes; Telegram's updates are kilobytes
MAX_RUNNING = 64  # updates handled at once after their answer
MAX_UPDATE_ID = 2**63 - 1  # the column is a BIGINT

Claim = Callable[[int], Awaitable[bool]]


class BadUpdate(Exception):
    """The body is not one Telegram update; the text says why (400)."""


def claim_in(deps: BotDeps, *, bot_id: int) -> Claim:
    """Claim update ids of this bot in the database: those arriving together share one
    statement and one commit (`telegram_updates.Claims`)."""
    # On a SQLite file the bulk engine (BEGIN IMMEDIATE, lock waits off the event loop's
    # busy handler), as the Business log writer's.
    sessions = deps.bulk_sessions or deps.sessions
    return telegram_updates.Claims(sessions, deps.config, deps.clock, bot_id=bot_id).claim


class WebhookReceiver:
    """Verifies, parses and claims each update, answers, then handles it in a task."""

    def __init__(
        self,
        *,
        bot: Bot,
        dispatcher: Dispatcher,
        secret: str,
        claim: Claim | None = None,
        max_running: int = MAX_RUNNING,
    ) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self._expected = secret.encode()
        self._claim = claim
        self._slots = asyncio.Semaphore(max_running)
        self._running: set[asyncio.Task[None]] = set()

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route(WEBHOOK_PATH, self.receive, methods=["POST"], include_in_schema=False)
        return router

    async def receive(self, request: Request) -> JSONResponse:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return _refuse(401, "missing the X-Telegram-Bot-Api-Secret-Token header")
        # Header values arrive decoded as latin-1: encoding them back gives the raw bytes.
        if not hmac.compare_digest(given.encode("latin-1"), self._expected):
            return _refuse(403, "wrong secret token")
        try:
            update = parse_update(await _read_body(request), self.bot)
        except BodyTooLarge:
            return _refuse(413, f"the body is larger than {MAX_BODY} bytes; an update is not")
        except BadUpdate as exc:
            return _refuse(400, f"the body is not a Telegram Update: {exc}")
        # A slot first: an update claimed must be handled, not dropped by a request cancelled
        # while it waited for one.
        await self._slots.acquire()
        try:
            refused = await self._take(update.update_id)
        except BaseException:
            self._slots.release()
            raise
        if refused is not None:
            self._slots.release()
            return refused
        task = asyncio.create_task(self._handle(update), name=f"telegram-update-{update.update_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return JSONResponse({"ok": True})

    async def _take(self, update_id: int) -> JSONResponse | None:
        """None when this update is ours to handle, else the answer to give."""
        if self._claim is None:
            return None
        try:
            new = await self._claim(update_id)
        except Exception:
            log.exception("update %s: could not record it; Telegram will retry", update_id)
            return _refuse(503, "cannot record the update now; deliver it again later")
        if new:
            return None
        log.info("update %s: delivered again; already applied, not applied twice", update_id)
        return JSONResponse({"ok": True, "duplicate": True})

    async def _handle(self, update: Update) -> None:
        try:
            await handle(self.bot, self.dispatcher, update)
        finally:
            self._slots.release()

    async def drain(self, within: float = 10.0) -> None:
        """Let the running handlers finish (shutdown); those still running after `within`
        seconds are cancelled."""
        if not self._running:
            return
        _done, pending = await asyncio.wait(set(self._running), timeout=within)
        for task in pending:
            log.warning("shutting down: %s is cancelled", task.get_name())
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)


def create_router(
    *, bot: Bot, dispatcher: Dispatcher, secret: str, claim: Claim | None = None
) -> APIRouter:
    """The webhook route for this bot and dispatcher (see `WebhookReceiver`)."""
    return WebhookReceiver(bot=bot, dispatcher=dispatcher, secret=secret, claim=claim).router()


class BodyTooLarge(Exception):
    pass


async def _read_body(request: Request) -> bytes:
    """The body, refusing more than MAX_BODY bytes whatever Content-Length says."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BodyTooLarge
    return bytes(body)


def parse_update(body: bytes, bot: Bot) -> Update:
    """One Update from a webhook body, or BadUpdate naming what is wrong."""
    try:
        data: Any = json.loads(body)
    except RecursionError:
        raise BadUpdate("JSON nested too deeply") from None
    except ValueError as exc:  # not JSON, or not UTF-8/16/32
        raise BadUpdate(f"not JSON ({str(exc)[:100]})") from None
    if not isinstance(data, dict):
        raise BadUpdate(f"a JSON {type(data).__name__}, not an object")
    update_id = data.get("update_id")
    if type(update_id) is not int or not 0 <= update_id <= MAX_UPDATE_ID:
        raise BadUpdate("no update_id (a non-negative integer)")
    try:
        return Update.model_validate(data, context={"bot": bot})
    except RecursionError:
        raise BadUpdate("nested too deeply") from None
    except (ValidationError, ValueError, TypeError) as exc:
        raise BadUpdate(str(exc)[:200]) from None


async def handle(bot: Bot, dispatcher: Dispatcher, update: Update) -> None:
    """Feed one update; send the method a handler returned; log (never raise) failures."""
    try:
        result: Any = await dispatcher.feed_webhook_update(bot, update)
        if isinstance(result, TelegramMethod):
            await bot(result)
    except TelegramAPIError as exc:
        log.warning("update %s: Telegram refused the reply: %s", update.update_id, exc)
    except Exception:
        log.exception("update %s: handling failed", update.update_id)


def _refuse(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)
