"""A half-finished dialog survives a restart when the FSM state lives in Redis."""

from __future__ import annotations

import os
import uuid

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder

from bot.callbacks import ContactCb
from bot.dispatcher import build_dispatcher
from core.activities.models import Activity
from core.contacts import service as contacts
from core.context import Actor
from tests.bot.conftest import Tg
from tests.bot.updates import TgUser, texts_of

REDIS_URL = os.environ.get("PEREZVON_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="PEREZVON_TEST_REDIS_URL is not set")


async def test_planning_started_before_a_restart_finishes_after_it(tg: Tg) -> None:
    from aiogram.fsm.storage.redis import RedisStorage

    assert REDIS_URL is not None
    seller = await tg.employee(9501)
    async with tg.db.ctx() as ctx:
        anna = await contacts.create_contact(ctx, actor=Actor.of_user(seller), name="Анна")
    prefix = f"test-restart-{uuid.uuid4().hex[:10]}"

    def storage() -> RedisStorage:
        assert REDIS_URL is not None
        return RedisStorage.from_url(
            REDIS_URL, key_builder=DefaultKeyBuilder(prefix=prefix, with_destiny=True)
        )

    first_storage = storage()
    first = build_dispatcher(tg.deps, storage=first_storage)
    user = TgUser(lambda u: first.feed_raw_update(tg.bot, {"update_id": 1, **u}), tg.fake, 9501)
    await user.press(ContactCb(action="plan", id=anna.id).pack())
    await first_storage.close()  # the process stops here

    second_storage = storage()
    second = build_dispatcher(tg.deps, storage=second_storage)
    user = TgUser(lambda u: second.feed_raw_update(tg.bot, {"update_id": 2, **u}), tg.fake, 9501)
    try:
        assert "Запланировано" in texts_of(await user.say("завтра в 15"))[0]
    finally:
        keys = [k async for k in second_storage.redis.scan_iter(f"{prefix}:*")]
        if keys:
            await second_storage.redis.delete(*keys)
        await second_storage.close()
    planned = await tg.db.one(Activity)
    assert planned.contact_id == anna.id
