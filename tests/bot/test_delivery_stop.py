"""Stopping the outbox sender mid-burst (a deploy): what reached Telegram is recorded as sent,
the rest goes back unclaimed, and the next sender sends each remaining message once."""

from __future__ import annotations

import asyncio
from collections import Counter

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import OutboxSender
from core.config import CoreConfig
from tests.bot.helpers_delivery import (
    ShiftedClock,
    plain_render,
    queue,
    real_time_deps,
    settled,
    stored,
)
from tests.fakes.telegram_api import FakeTelegram

CHATS = list(range(9001, 9021))


async def test_a_sender_stopped_mid_burst_records_what_went_out_and_gives_back_the_rest(
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
) -> None:
    deps = real_time_deps(sessions, config, ShiftedClock())
    chats = CHATS * 2  # two messages a chat: a chat's second one waits in its queue
    await queue(deps, [f"m{n}" for n in range(len(chats))], chats=chats)
    # All 40 claimed at once, sent 20 a second: stopped after 5, while the chats' first
    # messages still wait for the global limiter (they go out during the stop's grace).
    first = OutboxSender(
        tg_bot, deps, rate=20, per_chat_interval=0.5, poll_interval=0.05, render=plain_render
    )
    await first.start()
    await fake_tg.wait_for("sendMessage", 5, within=5.0)
    await first.stop()

    at_fake = {c.text for c in fake_tg.sent()}
    assert 5 <= len(at_fake) < len(chats)
    rows = await stored(deps)
    assert {r.payload["text"] for r in rows if r.status == "sent"} == at_fake
    assert all(r.claimed_until is None for r in rows)  # nothing waits out a lease

    second = OutboxSender(tg_bot, deps, rate=200, poll_interval=0.05, render=plain_render)
    await second.start()
    try:
        await fake_tg.wait_for("sendMessage", len(chats), within=5.0)
        await asyncio.sleep(0.3)
    finally:
        await second.stop()
    assert Counter(c.chat_id for c in fake_tg.sent()) == Counter(chats)
    assert len({c.text for c in fake_tg.sent()}) == len(chats)
    assert {r.status for r in await settled(deps)} == {"sent"}
