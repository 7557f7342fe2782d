"""Call messages render through the read-only sessions (bot/delivery.py step 2): on SQLite the
screen pop's reads run on the event loop's thread and never queue behind a writer; the other
kinds keep the shared sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.delivery import OutboxSender
from bot.deps import BotDeps
from bot.notifications import Rendered
from core.db import create_read_engine, session_factory
from core.models import Notification
from tests.bot.helpers_delivery import ShiftedClock, plain_render, queue, real_time_deps
from tests.conftest import Db
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
async def read_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_read_engine(database_url)
    if engine is None:
        pytest.skip("PostgreSQL: the outbox reads through the shared engine (no thread to spare)")
    yield engine
    await engine.dispose()


async def test_call_messages_render_through_the_read_engine_and_the_rest_through_the_shared_one(
    fake_tg: FakeTelegram, tg_bot: Bot, db: Db, read_engine: AsyncEngine
) -> None:
    deps = real_time_deps(db.sessions, db.config, ShiftedClock())
    deps.read_sessions = session_factory(read_engine)
    rendered_by: dict[str, AsyncEngine | None] = {}

    async def render(session: AsyncSession, deps: BotDeps, row: Notification) -> Rendered | None:
        rendered_by[row.payload["text"]] = session.bind
        return await plain_render(session, deps, row)

    sender = OutboxSender(tg_bot, deps, render=render, poll_interval=0.05)
    await queue(deps, ["POP"], chat_id=501, kind="incoming_call")
    await queue(deps, ["PROMPT"], chat_id=502, kind="post_call")
    await queue(deps, ["REMINDER"], chat_id=503, kind="reminder")
    await sender.start()
    try:
        await fake_tg.wait_for("sendMessage", 3, within=5.0)
    finally:
        await sender.stop()
    shared = db.sessions.kw["bind"]
    assert rendered_by == {"POP": read_engine, "PROMPT": read_engine, "REMINDER": shared}
