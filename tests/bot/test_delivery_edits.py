"""Edits of live messages by the outbox delivery: after their original, into the same message,
and nothing new when the original is gone (real renderer, real aiogram Bot, fake Bot API)."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import OutboxSender
from bot.deps import BotDeps
from core.calls import service as calls
from core.config import CoreConfig
from core.context import Ctx
from core.models import Notification
from core.outbox import service as outbox
from tests.bot.helpers_delivery import (
    ShiftedClock,
    context_of,
    real_time_deps,
    settled,
    stored,
    until_sent,
)
from tests.factories import call_event, make_user
from tests.fakes.telegram_api import FakeTelegram

ANNA_TG = 7101
CLIENT = "+79161234567"


@pytest.fixture
def deps(sessions: async_sessionmaker[AsyncSession], config: CoreConfig) -> BotDeps:
    live = dataclasses.replace(config, live_call_messages=True)  # what these tests are about
    return real_time_deps(sessions, live, ShiftedClock())


@pytest.fixture
async def sender(tg_bot: Bot, deps: BotDeps) -> AsyncIterator[OutboxSender]:
    async with context_of(deps) as ctx:
        await make_user(ctx, "Анна", tg=ANNA_TG, extensions=["101"])
    made = OutboxSender(tg_bot, deps, poll_interval=0.05)
    yield made
    await made.stop()


async def pbx(deps: BotDeps, kind: str, **fields: object) -> None:
    async with context_of(deps) as ctx:
        event = call_event(
            deps.clock,
            "c-1",
            kind,
            direction="in",
            client_number=CLIENT,
            extension="101",
            **fields,
        )
        await calls.apply_event(ctx, event=event)


async def test_an_edit_queued_with_its_pop_goes_after_it_into_the_same_message(
    fake_tg: FakeTelegram, deps: BotDeps, sender: OutboxSender
) -> None:
    await pbx(deps, "ringing")
    await pbx(deps, "answered")
    async with deps.sessions() as session:  # an edit claimed in the same round as its pop
        ctx = Ctx(session=session, config=deps.config, clock=deps.clock)
        [pop] = list(await session.scalars(select(Notification)))
        await outbox.enqueue_edit(
            ctx, of=pop, kind="call_update", state="answered", payload={"call_id": 1}
        )
        await session.commit()

    await sender.start()
    await until_sent(deps, 2, within=10)

    [message] = fake_tg.sent("sendMessage")
    [edit] = [c for c in fake_tg.calls if c.method == "editMessageText"]
    assert edit.at >= message.at  # the pop first
    pop_row, edit_row = await settled(deps)
    assert edit.params["message_id"] == pop_row.message_id  # the pop's own message
    assert edit_row.status == "sent"  # "not modified": it already said so
    assert "Идёт разговор" in (message.text or "")


async def test_an_edit_of_a_message_that_is_gone_sends_nothing_new(
    fake_tg: FakeTelegram, deps: BotDeps, sender: OutboxSender
) -> None:
    await pbx(deps, "ringing")
    await sender.start()
    await until_sent(deps, 1, within=10)
    [pop_row] = await settled(deps)
    assert pop_row.message_id is not None  # kept for the edits

    fake_tg.fail("editMessageText", 400, "Bad Request: message to edit not found")
    await pbx(deps, "answered")
    sender.wake()
    async with asyncio.timeout(10):  # until the edit is settled
        for _ in itertools.count():
            rows = await stored(deps)
            if rows[-1].status != "pending":
                break
            await asyncio.sleep(0.02)

    assert [(r.kind, r.status) for r in rows] == [
        ("incoming_call", "sent"),
        ("call_update", "skipped"),
    ]
    assert len(fake_tg.sent("sendMessage")) == 1  # no second card about the same call
