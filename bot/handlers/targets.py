"""Monthly sales targets in the bot: `/targets` to read them, `/targets set` for managers.

1. `/targets [2026-12]`: the month's targets (this month in the user's zone by default);
   a manager sees everyone's, a salesperson their own (core decides).
2. `/targets set 2026-12 <#ID|@username|name> won_amount=500000 deals_won=5 calls_out=300`:
   the figure names may also be the words of the user's language (targets-word-* in the
   locale files); 0 removes a target. Core checks the role, the person and every figure;
   a mistake is answered with its err-<code> text.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.i18n import Texts
from bot.request import Request
from bot.views import targets as views
from core.targets import service as targets


def this_month(request: Request) -> date:
    zone = ZoneInfo(request.timezone or request.ctx.config.timezone)
    return request.now().astimezone(zone).date().replace(day=1)


def metric_of(t: Texts, word: str) -> str:
    """A figure's code from its code or its word in the user's language (else as typed, for
    core to refuse by name)."""
    word = word.strip().casefold()
    words = {t(f"targets-word-{m}").casefold(): m for m in targets.METRICS}
    return words.get(word, word)


async def show_targets(message: Message, command: CommandObject, request: Request) -> None:
    """/targets [month]: the month's targets; `/targets set …` for managers."""
    t = request.t
    words = (command.args or "").split()
    if words and words[0].casefold() == "set":
        await set_targets(message, words[1:], request)
        return
    if len(words) > 1:
        await message.answer(t("targets-usage"))
        return
    month = targets.parse_month(words[0]) if words else this_month(request)
    found = await targets.list_targets(request.ctx, actor=request.actor, month=month)
    await message.answer(views.targets(t, month, found))


async def set_targets(message: Message, words: list[str], request: Request) -> None:
    ctx, t, actor = request.ctx, request.t, request.actor
    if not actor.sees_all:
        await message.answer(t("managers-only"))
        return
    pairs = [w.partition("=") for w in words[2:]]
    if len(words) < 3 or any(not sep or not value for _, sep, value in pairs):
        await message.answer(t("targets-usage"))
        return
    month = targets.parse_month(words[0])
    person = await targets.find_person(ctx, text=words[1])
    values: dict[str, Decimal] = {}
    for key, _, value in pairs:
        metric = metric_of(t, key)
        values[metric] = targets.parse_value(metric, value)
    found = await targets.set_targets(
        ctx, actor=actor, user_id=person.id, month=month, values=values
    )
    await message.answer(t("targets-saved") + "\n\n" + views.targets(t, month, found))


def router() -> Router:
    r = Router(name="targets")
    r.message.register(show_targets, Command("targets"))
    return r
