"""Shared steps for the outbox delivery tests: a movable real clock, a session on it, queueing,
a plain renderer."""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deps import BotDeps
from bot.notifications import Rendered
from core.config import CoreConfig
from core.context import Ctx
from core.models import Notification
from core.outbox import service as outbox
from tests.fakes.telegram_api import Call


class ShiftedClock:
    """Real time plus an offset the test can move forward (claim leases, retry times)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


def real_time_deps(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: ShiftedClock
) -> BotDeps:
    return BotDeps(sessions=sessions, config=config, clock=clock, bot_username="perezvon_test_bot")


async def plain_render(
    _session: AsyncSession, _deps: BotDeps, notification: Notification
) -> Rendered | None:
    """The payload's text (and document) to the notification's chat: the delivery mechanics
    are tested apart from the notification texts, which bot.notifications renders."""
    payload: dict[str, Any] = notification.payload
    if notification.chat_id is None:
        return None
    document = payload.get("content_b64")
    return Rendered(
        chat_id=notification.chat_id,
        text=str(payload.get("text", "")),
        document=base64.b64decode(document) if document else None,
        filename=payload.get("filename"),
    )


@asynccontextmanager
async def context_of(deps: BotDeps) -> AsyncIterator[Ctx]:
    """A fresh session on the deps' config and clock, as the core services take it."""
    async with deps.sessions() as session:
        yield Ctx(session=session, config=deps.config, clock=deps.clock)


async def queue(
    deps: BotDeps,
    texts: Sequence[str],
    *,
    chat_id: int | None = None,
    chats: Sequence[int] | None = None,
    user_id: int | None = None,
    kind: str = "greeting",
    extra: dict[str, Any] | None = None,
) -> None:
    """Enqueue one notification per text (to `chat_id`, or to `chats` one each) and commit."""
    async with context_of(deps) as ctx:
        for index, text in enumerate(texts):
            await outbox.enqueue(
                ctx,
                kind=kind,
                dedupe_key=f"test:{text}",
                payload={"text": text, **(extra or {})},
                chat_id=chats[index] if chats is not None else chat_id,
                user_id=user_id,
            )
        await ctx.session.commit()


async def stored(deps: BotDeps) -> list[Notification]:
    async with deps.sessions() as session:
        return list(await session.scalars(select(Notification).order_by(Notification.id)))


async def settled(deps: BotDeps, within: float = 3.0) -> list[Notification]:
    """The rows once none is claimed any more (a send's outcome is recorded just after it)."""
    async with asyncio.timeout(within):
        while True:
            rows = await stored(deps)
            if all(r.claimed_until is None for r in rows):
                return rows
            await asyncio.sleep(0.02)


async def until_sent(deps: BotDeps, count: int, within: float = 3.0) -> None:
    """Until `count` rows are recorded as sent."""
    async with asyncio.timeout(within):
        for _ in itertools.count():
            if sum(r.status == "sent" for r in await stored(deps)) >= count:
                return
            await asyncio.sleep(0.02)


def gaps(calls: Sequence[Call]) -> list[float]:
    times = [call.at for call in calls]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def most_in_any_window(calls: Sequence[Call], window: float) -> int:
    times = sorted(call.at for call in calls)
    best = 0
    for index, start in enumerate(times):
        best = max(best, sum(1 for t in times[index:] if t < start + window))
    return best
