"""Managers' digests: `/digest` subscriptions and `/report`, the digest workbook on demand.

1. `/digest daily|weekly|monthly [HH]` subscribes (at HH local time, 9 by default),
   `/digest off` stops them all, `/digest` alone shows them with a button per period.
2. `/report` offers periods (yesterday, this or last week, this or last month, in the user's
   zone); "this week" and "this month" ask for the whole week or month, which the digest cuts
   at now and compares with the same hours of the previous one. The pick sends the workbook
   (core's figures, the `exports` codec, built in a thread) as a document with the two-line
   summary as its caption.
Salespeople get a polite "for managers" reply; core enforces the same rule on every call.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.callbacks import DigestCb, ReportCb
from bot.handlers.common import answer, show
from bot.periods import REPORT_PERIODS, ReportPeriod, days_label, report_period
from bot.request import Request
from bot.text_split import CAPTION_LIMIT
from bot.views import reports as views
from bot.views.format import Screen, clip, esc
from core.reports import digests
from core.reports import service as reports
from core.reports.digests import local_bounds
from exports.digest import build_workbook, summary_text


def parse_digest_args(args: str | None) -> tuple[str, int | None] | None:
    """`weekly 8` -> ("weekly", 8); `off` -> ("off", None); None when it cannot be read."""
    words = (args or "").lower().split()
    if not words or len(words) > 2 or words[0] not in (*digests.PERIODS, "off"):
        return None
    if words[0] == "off":
        return ("off", None) if len(words) == 1 else None
    if len(words) == 1:
        return words[0], None
    hour = words[1].removesuffix(":00")
    return (words[0], int(hour)) if hour.isdigit() and int(hour) <= 23 else None


async def digest_screen(request: Request) -> Screen:
    subscriptions = await digests.list_for(request.ctx, actor_id=request.user.id)
    return views.digests(request.t, subscriptions, request.timezone)


def whole_unit(code: str, period: ReportPeriod, timezone: str) -> ReportPeriod:
    """This week or this month as a whole (the digest says it is still running)."""
    if code == "this_week":
        last = period.first + timedelta(days=6)
    elif code == "this_month":
        last = (period.first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    else:
        return period
    return ReportPeriod(period.first, last, *local_bounds(period.first, last, ZoneInfo(timezone)))


async def digest(message: Message, command: CommandObject, request: Request) -> None:
    """/digest: the subscriptions, or subscribe to one period, or stop them all."""
    ctx, t, user = request.ctx, request.t, request.user
    if not request.actor.sees_all:
        await message.answer(t("managers-only"))
        return
    if not (command.args or "").strip():
        await answer(message, await digest_screen(request))
        return
    parsed = parse_digest_args(command.args)
    if parsed is None:
        await message.answer(t("digest-usage"))
        return
    period, hour = parsed
    if period == "off":
        stopped = await digests.unsubscribe(ctx, actor_id=user.id)
        await message.answer(t("digest-off", count=stopped))
        return
    if hour is None:
        current = {s.period: s.local_hour for s in await digests.list_for(ctx, actor_id=user.id)}
        hour = current.get(period, views.DEFAULT_HOUR)
    await digests.subscribe(ctx, actor_id=user.id, period=period, hour=hour)
    screen = await digest_screen(request)
    text = t("digest-subscribed", period=t("digest-" + period), hour=f"{hour:02d}")
    await message.answer(text + "\n\n" + screen.text, reply_markup=screen.markup)


async def subscribe(query: CallbackQuery, callback_data: DigestCb, request: Request) -> None:
    await digests.subscribe(
        request.ctx,
        actor_id=request.user.id,
        period=callback_data.period,
        hour=callback_data.hour,
    )
    await show(query, await digest_screen(request))


async def stop(query: CallbackQuery, request: Request) -> None:
    await digests.unsubscribe(request.ctx, actor_id=request.user.id)
    await show(query, await digest_screen(request))


async def report(message: Message, request: Request) -> None:
    """/report: the periods to pick from."""
    if not request.actor.sees_all:
        await message.answer(request.t("managers-only"))
        return
    await answer(message, views.report_picker(request.t))


async def send_report(query: CallbackQuery, callback_data: ReportCb, request: Request) -> None:
    """A period picked: the digest workbook, with its summary as the caption."""
    t, timezone = request.t, request.timezone
    period = whole_unit(
        callback_data.period,
        report_period(callback_data.period, request.now(), timezone),
        timezone,
    )
    figures = await reports.digest(
        request.ctx, actor_id=request.user.id, start=period.start, end=period.end, tz=timezone
    )
    # Building a big workbook is CPU work: off the loop, so other chats keep being answered.
    content = await asyncio.to_thread(build_workbook, figures, locale=t.locale, tz=timezone)
    filename = f"digest-{days_label(period.first, period.last)}.xlsx"
    if query.bot is not None:
        await query.bot.send_document(
            query.from_user.id,
            BufferedInputFile(content, filename=filename),
            caption=clip(esc(summary_text(figures, t.locale)), CAPTION_LIMIT),
        )


def router() -> Router:
    r = Router(name="reports")
    r.message.register(digest, Command("digest"))
    r.callback_query.register(subscribe, DigestCb.filter(F.action == "sub"))
    r.callback_query.register(stop, DigestCb.filter(F.action == "off"))
    r.message.register(report, Command("report"))
    r.callback_query.register(send_report, ReportCb.filter(F.period.in_(REPORT_PERIODS)))
    return r
