"""`POST /telegram/webhook`: Telegram's updates in webhook mode, behind the secret-token header.

1. Verify: `X-Telegram-Bot-Api-Secret-Token` compared in constant time, as bytes (a non-ASCII
   header must be a 403, not a 500); missing -> 401, wrong -> 403.
2. Parse: the body is one Update object, else 400 with the reason.
3. Handle: fed to the dispatcher; a method a handler returns is sent, not dropped.
4. Answer 200 even when a handler failed (logged with the update id): a 5xx would make
   Telegram redeliver the same update again and again.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from bot.runtime import WEBHOOK_PATH

log = logging.getLogger(__name__)
SECRET_HEADER = "x-telegram-bot-api-secret-token"


def create_router(*, bot: Bot, dispatcher: Dispatcher, secret: str) -> APIRouter:
    """The webhook route for this bot and dispatcher."""
    router = APIRouter()
    expected = secret.encode()

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def telegram_webhook(request: Request) -> JSONResponse:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return _refuse(401, "missing the X-Telegram-Bot-Api-Secret-Token header")
        # Header values arrive decoded as latin-1: encoding them back gives the raw bytes.
        if not hmac.compare_digest(given.encode("latin-1"), expected):
            return _refuse(403, "wrong secret token")
        try:
            body: Any = json.loads(await request.body())
            if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
                return _refuse(400, "the body is not a Telegram Update (no update_id)")
            update = Update.model_validate(body, context={"bot": bot})
        except (ValueError, ValidationError) as exc:
            return _refuse(400, f"the body is not a Telegram Update: {str(exc)[:200]}")
        await handle(bot, dispatcher, update)
        return JSONResponse({"ok": True})

    return router


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
