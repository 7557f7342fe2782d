"""Whatever no feature took: stickers, files, photos, voice, unknown commands and buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.i18n import Texts
from core.users.models import User


def router() -> Router:
    r = Router(name="fallback")

    @r.message(F.text.startswith("/"))
    async def unknown_command(message: Message, t: Texts, user: User) -> None:
        await message.answer(t("unknown-command"))

    @r.message(F.text)
    async def text_in_flow(message: Message, t: Texts, user: User) -> None:
        await message.answer(t("search-hint"))

    @r.message()
    async def not_text(message: Message, t: Texts, user: User) -> None:
        await message.answer(t("not-text"))

    @r.callback_query()
    async def unknown_button(
        query: CallbackQuery, t: Texts, user: User, callback_answer: CallbackAnswer
    ) -> None:
        callback_answer.text = t("button-stale")

    return r
