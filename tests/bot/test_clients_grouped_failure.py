"""A grouped relay split into several messages whose later part fails: the client messages
the parts before it showed count as relayed (never shown twice); the ones it would have
shown go back to be relayed (a passing failure) or fail (Telegram refused them for good)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from bot.delivery import OutboxSender
from bot.deps import BotDeps
from core.models import MessageRelay, Notification
from tests.bot.conftest import Tg, employee
from tests.bot.test_clients_grouped import ANNA, IVAN, PETR, relays, slow_sender
from tests.waits import until

WORDS = {
    "a": "Иван " + "слово " * 500,  # ~3,000 characters each: the group takes several messages
    "b": "Пётр " + "текст " * 500,
    "c": "Иван " + "ещё " * 700,
    "d": "Пётр коротко",
}


anna = employee(ANNA, name="Анна", role="sales")


@pytest.fixture
async def sender(tg_bot: Bot, bot_deps: BotDeps) -> AsyncIterator[OutboxSender]:
    made = slow_sender(tg_bot, bot_deps)
    yield made
    await made.stop()


@pytest.mark.parametrize(("status", "settles"), [(502, "sent"), (400, "failed")])
@pytest.mark.usefixtures("anna")
async def test_a_later_part_that_fails_shows_nothing_twice(
    tg: Tg, sender: OutboxSender, status: int, settles: str
) -> None:
    fake, db = tg.fake, tg.db
    for client, key in ((IVAN, "a"), (PETR, "b"), (IVAN, "c"), (PETR, "d")):
        await tg.user(client, WORDS[key].split()[0]).say(WORDS[key])
    fake.fail("sendMessage", status, chat_id=ANNA, after=1)  # the second part fails
    await sender.start()

    async def relay_rows() -> list[Notification]:
        return await db.rows(Notification, Notification.kind == "client_relay")

    async def settled() -> bool:
        db.clock.advance(seconds=1)  # past the pause after a passing failure
        rows = await relay_rows()
        return len(rows) == 4 and all(r.status in ("sent", "failed") for r in rows)

    await until(settled, within=15.0)
    shown = "\n".join(c.text or "" for c in relays(fake) if c.method == "sendMessage")
    counts = {key: shown.count(text.strip()) for key, text in WORDS.items()}
    assert all(n <= 1 for n in counts.values()), counts  # none shown twice
    first_part = [k for k, n in counts.items() if n == 1]
    assert first_part
    statuses = sorted(r.status for r in await relay_rows())
    if settles == "sent":  # the rest went in a later message: all four shown once
        assert statuses == ["sent"] * 4 and sorted(counts.values()) == [1, 1, 1, 1]
    else:  # refused for good: the shown ones sent, the rest failed, none shown
        # Only the two clients' welcomes went out whole; the group did not: not counted.
        assert sender.sent == 2
        assert len(first_part) < 4
        assert statuses.count("sent") == len(first_part)
        assert statuses.count("failed") == 4 - len(first_part)
    recorded = [r.message_id for r in await db.rows(MessageRelay)]
    assert len(recorded) == len(set(recorded))  # each relay recorded on one message
