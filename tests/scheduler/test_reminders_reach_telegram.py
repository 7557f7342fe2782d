"""Reminders end to end in one process: the real scheduler and the bot's real outbox sender,
wired as `perezvon run` wires them, deliver each due reminder once to the fake Bot API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.bot_component import BotComponent
from app.scheduler_component import SchedulerComponent
from app.settings import Settings
from app.wiring import Container
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.scheduler.delivery import (
    due_for_each_user,
    outbox_states,
    reminders_at,
    twice,
    wait_until,
)

COUNT = 100


async def test_each_due_reminder_reaches_its_user_once_with_done_and_snooze_buttons(
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],  # a clean database (PostgreSQL: truncated)
    fake_tg: FakeTelegram,
) -> None:
    settings = Settings(
        database_url=database_url,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake_tg.url,
        telegram_rate=200,
        reminders_interval_seconds=0.2,
        log_level="WARNING",
    )
    container = Container.build(settings)
    expected = await due_for_each_user(sessions, COUNT, datetime.now(UTC) - timedelta(seconds=1))
    scheduler = SchedulerComponent()
    bot = BotComponent(container, poll_interval=0.05)
    await bot.start(container)
    await bot.runtime.wait_ready()
    await scheduler.start(container)
    try:
        await wait_until(
            lambda: len(reminders_at(fake_tg)) >= COUNT,
            within=30,
            what=f"{len(reminders_at(fake_tg))} of {COUNT} reminders reached the fake",
        )
        await asyncio.sleep(0.6)  # three more scheduler ticks and many claim rounds
        states = await outbox_states(container.sessions)
    finally:
        await scheduler.stop()
        await bot.stop()
        await container.dispose()

    reminded = reminders_at(fake_tg)
    assert twice(reminded) == {}
    assert {r.chat_id: r.activity_id for r in reminded} == expected
    assert all(r.actions == {"done", "snooze", "move", "ren", "del"} for r in reminded)
    assert all(r.snoozes == {15, 60, -1} for r in reminded)
    titles = {r.activity_id: r.text for r in reminded}
    assert all(f"№{n}" in titles[expected[chat]] for n, chat in enumerate(sorted(expected)))
    assert states == {activity_id: ("sent", False) for activity_id in expected.values()}
    others = [c for c in fake_tg.sent("sendMessage") if c.chat_id not in expected]
    assert others == []
