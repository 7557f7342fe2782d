"""A grouped relay split into several messages whose later part fails: the client messages
the parts before it showed count as relayed (never shown twice); the ones it would have
shown go back to be relayed (a passing failure) or fail (Telegram refused them for good)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import OutboxSender
from bot.deps import BotDeps
from core.config import CoreConfig
from core.models import MessageRelay, Notification
from tests.bot.test_clients_flow import add_staff, until
from tests.bot.test_clients_grouped import ANNA, IVAN, PETR, relays, slow_sender
from tests.bot.updates import TgUser
from tests.fakes.clock import FakeClock
from tests.fakes.telegram_api import FakeTelegram

WORDS = {
    "a": "Иван " + "слово " * 500,  # ~3,000 characters each: the group takes several messages
    "b": "Пётр " + "текст " * 500,
    "c": "Иван " + "ещё " * 700,
    "d": "Пётр коротко",
}


@pytest.fixture
async def sender(tg_bot: Bot, bot_deps: BotDeps) -> AsyncIterator[OutboxSender]:
    made = slow_sender(tg_bot, bot_deps)
    yield made
    await made.stop()


async def relay_rows(sessions: async_sessionmaker[AsyncSession]) -> list[Notification]:
    async with sessions() as session:
        return list(
            await session.scalars(select(Notification).where(Notification.kind == "client_relay"))
        )


@pytest.mark.parametrize(("status", "settles"), [(502, "sent"), (400, "failed")])
async def test_a_later_part_that_fails_shows_nothing_twice(
    feed: Any,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    sender: OutboxSender,
    status: int,
    settles: str,
) -> None:
    await add_staff(sessions, config, clock, ANNA, "Анна")
    ivan = TgUser(feed, fake_tg, IVAN, first_name="Иван")
    petr = TgUser(feed, fake_tg, PETR, first_name="Пётр")
    await ivan.say(WORDS["a"])
    await petr.say(WORDS["b"])
    await ivan.say(WORDS["c"])
    await petr.say(WORDS["d"])
    fake_tg.fail("sendMessage", status, chat_id=ANNA, after=1)  # the second part fails
    await sender.start()

    async def settled() -> bool:
        clock.advance(seconds=1)  # past the pause after a passing failure
        rows = await relay_rows(sessions)
        return len(rows) == 4 and all(r.status in ("sent", "failed") for r in rows)

    await until(settled, within=15.0)
    shown = "\n".join(c.text or "" for c in relays(fake_tg) if c.method == "sendMessage")
    counts = {key: shown.count(text.strip()) for key, text in WORDS.items()}
    assert all(n <= 1 for n in counts.values()), counts  # none shown twice
    first_part = [k for k, n in counts.items() if n == 1]
    assert first_part
    rows = await relay_rows(sessions)
    statuses = sorted(r.status for r in rows)
    if settles == "sent":  # the rest went in a later message: all four shown once
        assert statuses == ["sent"] * 4 and sorted(counts.values()) == [1, 1, 1, 1]
    else:  # refused for good: the shown ones sent, the rest failed, none shown
        assert len(first_part) < 4
        assert statuses.count("sent") == len(first_part)
        assert statuses.count("failed") == 4 - len(first_part)
    async with sessions() as session:
        recorded = list(await session.scalars(select(MessageRelay.message_id)))
    assert len(recorded) == len(set(recorded))  # each relay recorded on one message
