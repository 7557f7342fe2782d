"""Client-chat messages in the outbox never hold up a screen pop (issue 17 §1)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import OutboxSender
from bot.deps import BotDeps
from core.config import CoreConfig
from tests.bot.helpers_delivery import ShiftedClock, plain_render, queue, real_time_deps
from tests.fakes.telegram_api import FakeTelegram

STAFF = 5001
OTHER = 5002


@pytest.fixture
def deps(sessions: async_sessionmaker[AsyncSession], config: CoreConfig) -> BotDeps:
    return real_time_deps(sessions, config, ShiftedClock())


@pytest.fixture
async def sender(tg_bot: Bot, deps: BotDeps) -> AsyncIterator[OutboxSender]:
    # A small batch, one message a second per chat: relays pile up waiting for the budget.
    made = OutboxSender(
        tg_bot,
        deps,
        batch=5,
        per_chat_burst=1,
        per_chat_interval=3.0,
        poll_interval=0.02,
        render=plain_render,
    )
    yield made
    await made.stop()


async def test_a_screen_pop_is_not_held_up_by_a_busy_client_chat(
    fake_tg: FakeTelegram, deps: BotDeps, sender: OutboxSender
) -> None:
    # Relays for one salesperson fill the sender's batch, each waiting 3 s for the chat's
    # budget; a call rings another salesperson meanwhile.
    await queue(deps, [f"relay {n}" for n in range(12)], chat_id=STAFF, kind="client_relay")
    await sender.start()
    await fake_tg.wait_for(where=lambda c: c.text == "relay 0")
    await asyncio.sleep(0.2)  # the rest are claimed and waiting
    await queue(deps, ["POP"], chat_id=OTHER, kind="incoming_call")
    queued_at = time.monotonic()
    pop = await fake_tg.wait_for(where=lambda c: c.text == "POP", within=5)
    assert pop[0].at - queued_at < 1.0
    assert len(fake_tg.sent(chat_id=STAFF)) <= 2  # the relays are still waiting their turn
