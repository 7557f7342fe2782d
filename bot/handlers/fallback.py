"""Whatever no feature took: stickers, files, photos, voice, unknown commands and buttons.

Only a team member's updates reach these handlers (they take the request object); a
client's messages are taken by bot/handlers/clients.py long before.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.request import Request


async def unknown_command(message: Message, request: Request) -> None:
    await message.answer(request.t("unknown-command"))


async def text_in_flow(message: Message, request: Request) -> None:
    await message.answer(request.t("search-hint"))


async def not_text(message: Message, request: Request) -> None:
    await message.answer(request.t("not-text"))


async def unknown_button(
    query: CallbackQuery, request: Request, callback_answer: CallbackAnswer
) -> None:
    callback_answer.text = request.t("button-stale")


def router() -> Router:
    r = Router(name="fallback")
    r.message.register(unknown_command, F.text.startswith("/"))
    r.message.register(text_in_flow, F.text)
    r.message.register(not_text)
    r.callback_query.register(unknown_button)
    return r
