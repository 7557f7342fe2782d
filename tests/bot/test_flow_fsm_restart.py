"""A half-finished dialog survives a restart when the FSM state lives in Redis."""

from __future__ import annotations

import os
import uuid

import pytest
from aiogram import Bot
from aiogram.fsm.storage.base import DefaultKeyBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import ContactCb
from bot.deps import BotDeps
from bot.dispatcher import build_dispatcher
from core.activities.models import Activity
from core.clock import FakeClock
from core.config import CoreConfig
from core.contacts import service as contacts
from core.context import Actor, Ctx
from tests.bot.updates import TgUser, make_user, texts_of
from tests.fakes.telegram_api import FakeTelegram

REDIS_URL = os.environ.get("PEREZVON_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="PEREZVON_TEST_REDIS_URL is not set")


async def test_planning_started_before_a_restart_finishes_after_it(
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    bot_deps: BotDeps,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
) -> None:
    from aiogram.fsm.storage.redis import RedisStorage

    assert REDIS_URL is not None
    seller = await make_user(sessions, config, clock, telegram_id=9501)
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        anna = await contacts.create_contact(ctx, actor=Actor.of_user(seller), name="Анна")
    prefix = f"test-restart-{uuid.uuid4().hex[:10]}"

    def storage() -> RedisStorage:
        assert REDIS_URL is not None
        return RedisStorage.from_url(
            REDIS_URL, key_builder=DefaultKeyBuilder(prefix=prefix, with_destiny=True)
        )

    first_storage = storage()
    first = build_dispatcher(bot_deps, storage=first_storage)
    user = TgUser(lambda u: first.feed_raw_update(tg_bot, {"update_id": 1, **u}), fake_tg, 9501)
    await user.press(ContactCb(action="plan", id=anna.id).pack())
    await first_storage.close()  # the process stops here

    second_storage = storage()
    second = build_dispatcher(bot_deps, storage=second_storage)
    user = TgUser(lambda u: second.feed_raw_update(tg_bot, {"update_id": 2, **u}), fake_tg, 9501)
    try:
        assert "Запланировано" in texts_of(await user.say("завтра в 15"))[0]
    finally:
        keys = [k async for k in second_storage.redis.scan_iter(f"{prefix}:*")]
        if keys:
            await second_storage.redis.delete(*keys)
        await second_storage.close()
    async with sessions() as session:
        planned = (await session.scalars(select(Activity))).one()
    assert planned.contact_id == anna.id
