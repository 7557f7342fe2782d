"""The scheduler's digest builder: core's figures -> the `exports` workbook -> a document.

Only app/ may join core (the figures) to exports (the workbook) for the scheduler; the REST
route and the CLI do the same for their callers.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.text_split import CAPTION_LIMIT
from core.context import Ctx
from core.models import DigestSubscription, User
from core.reports import service as reports
from exports.digest import build_workbook, summary_text


async def build_digest(
    ctx: Ctx, subscription: DigestSubscription, start: datetime, end: datetime
) -> tuple[bytes, str, str]:
    """The workbook of [start, end) as the subscriber sees it: (bytes, filename, caption)."""
    user = await ctx.session.get(User, subscription.user_id)
    tz = user.timezone if user is not None else "UTC"
    locale = user.locale if user is not None and user.locale in ("ru", "en") else "ru"
    digest = await reports.digest(ctx, actor_id=subscription.user_id, start=start, end=end, tz=tz)
    # Building a big workbook is CPU work: off the loop, so webhooks keep being answered.
    content = await asyncio.to_thread(build_workbook, digest, locale=locale, tz=tz)
    first_day = start.astimezone(ZoneInfo(tz)).date()
    filename = f"digest-{subscription.period}-{first_day:%Y-%m-%d}.xlsx"
    return content, filename, summary_text(digest, locale)[:CAPTION_LIMIT]
