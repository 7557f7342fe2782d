"""Messages the bot sends outside the outbox (a handler's answer, the welcome at a new
client's /start) spend the outbox's budgets (bot/delivery.py step 7): a burst of them goes at
Telegram's rate, and the outbox's own messages are not counted twice."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot

from bot.delivery import OutboxSender
from tests.bot.helpers_delivery import (
    ShiftedClock,
    most_in_any_window,
    plain_render,
    queue,
    real_time_deps,
)
from tests.conftest import Db
from tests.fakes.telegram_api import FakeTelegram

RATE = 10.0


async def test_answers_outside_the_outbox_wait_for_the_global_budget(
    fake_tg: FakeTelegram, tg_bot: Bot, db: Db
) -> None:
    deps = real_time_deps(db.sessions, db.config, ShiftedClock())
    sender = OutboxSender(tg_bot, deps, rate=RATE, render=plain_render, poll_interval=0.05)
    tg_bot.session.middleware(sender.budget_middleware())
    count = 20
    # Twenty new clients welcomed in the same moment, beside twenty outbox messages.
    await queue(deps, [f"outbox {i}" for i in range(count)], chats=list(range(300, 300 + count)))
    await sender.start()
    try:
        await asyncio.gather(
            *(tg_bot.send_message(100 + i, f"welcome {i}") for i in range(count)),
            tg_bot.send_chat_action(100, "typing"),  # no message: spends nothing
        )
        calls = await fake_tg.wait_for("sendMessage", 2 * count, within=15.0)
    finally:
        await sender.stop()

    welcomes = [c for c in calls if (c.text or "").startswith("welcome")]
    assert len(welcomes) == count
    # All forty share one budget: never more than the rate (and its tenth-second burst).
    assert most_in_any_window(calls, 1.0) <= RATE * 1.1 + 1
    # ... and the outbox's own requests wait once, not twice: forty go in about four seconds.
    spread = calls[-1].at - calls[0].at
    assert spread < (2 * count) / RATE * 1.6


@pytest.mark.parametrize("waiting", ["greeting", "post_call"], ids=["welcomes", "prompts"])
async def test_a_screen_pop_goes_before_messages_of_other_chats_waiting_for_the_global_budget(
    fake_tg: FakeTelegram, tg_bot: Bot, db: Db, waiting: str
) -> None:
    """Step 3: the global budget's turns go by urgency. Fifteen messages to other chats wait
    for it — new clients' welcomes, or the post-call prompts of calls that have ended (each
    in its own chat, so no chat's budget holds them back); a pop queued then goes next, not
    after them (at RATE / 2 a second, behind them it would wait two to three seconds)."""
    deps = real_time_deps(db.sessions, db.config, ShiftedClock())
    sender = OutboxSender(tg_bot, deps, rate=RATE / 2, render=plain_render, poll_interval=0.05)
    count = 15
    await queue(
        deps,
        [f"welcome {i}" for i in range(count)],
        chats=list(range(400, 400 + count)),
        kind=waiting,
    )
    await sender.start()
    try:
        await fake_tg.wait_for("sendMessage", 3, within=5.0)
        await queue(deps, ["POP"], chat_id=999, kind="incoming_call")
        queued = asyncio.get_running_loop().time()
        pop = await fake_tg.wait_for(where=lambda c: c.text == "POP", within=10.0)
        popped = asyncio.get_running_loop().time()
        calls = await fake_tg.wait_for("sendMessage", count + 1, within=15.0)
    finally:
        await sender.stop()
    assert popped - queued < 1.0, f"the pop waited {popped - queued:.1f} s"
    after = [c for c in calls if c.at > pop[0].at and (c.text or "").startswith("welcome")]
    assert len(after) >= count // 2  # most welcomes were still waiting when it went
