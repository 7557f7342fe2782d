"""Business updates reach the bot in both modes: long polling asks for them in `allowed_updates`
and so does `setWebhook`; the updates Telegram then sends are logged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiogram.fsm.storage.base import BaseStorage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.deps import BotDeps
from bot.runtime import BotOptions, BotRuntime
from core.conversations.business_writer import BusinessLogWriter
from core.conversations.models import ChatMessage
from core.db import create_engine, session_factory
from tests.bot.helpers_clients import connected_unannounced
from tests.bot.test_runtime_modes import SECRET, running_app, webhook_settings
from tests.conftest import Db
from tests.fakes.clock import FakeClock
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.fakes.telegram_business import person
from tests.waits import until

SELLER = 8100
CLIENT = person(9001, "Анна")
BUSINESS_UPDATES = {
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
}


def texts_logged(sessions: async_sessionmaker) -> Callable[[], Awaitable[list[str | None]]]:  # type: ignore[type-arg]
    async def read() -> list[str | None]:
        async with sessions() as session:
            found = await session.scalars(select(ChatMessage.text).order_by(ChatMessage.id))
            return list(found)

    return read


@asynccontextmanager
async def polling(
    fake_tg: FakeTelegram, bot_deps: BotDeps, fsm_storage: BaseStorage
) -> AsyncIterator[BotRuntime]:
    """The bot's runtime long-polling the fake, ready, until the block ends."""
    runtime = BotRuntime(
        BotOptions(token=TOKEN, api_url=fake_tg.url), bot_deps, storage=fsm_storage
    )
    await runtime.start()
    try:
        await runtime.wait_ready(within=5)
        yield runtime
    finally:
        await runtime.stop()


async def test_polling_asks_for_business_updates_and_logs_them(
    fake_tg: FakeTelegram, bot_deps: BotDeps, fsm_storage: BaseStorage, db: Db
) -> None:
    # Polling handles updates as concurrent tasks too: the message may come first (see below).
    account = await connected_unannounced(db, fake_tg, SELLER)
    read = texts_logged(bot_deps.sessions)
    async with polling(fake_tg, bot_deps, fsm_storage):
        await asyncio.wait_for(fake_tg.polled.wait(), 5)
        await fake_tg.push_update(account.connection())
        await fake_tg.push_update(account.hears(CLIENT, "hello over polling"))

        async def logged() -> bool:
            return await read() == ["hello over polling"]

        await until(logged)

    polls = [c for c in fake_tg.calls if c.method == "getUpdates"]
    assert set(polls[0].params["allowed_updates"]) >= BUSINESS_UPDATES


async def test_a_polled_backlog_of_business_messages_shares_its_commits(
    fake_tg: FakeTelegram,
    bot_deps: BotDeps,
    fsm_storage: BaseStorage,
    db: Db,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A busy hour, or Telegram's backlog after an outage, arrives as one getUpdates answer of
    many business messages: polling handles enough of them at once (POLLING_CONCURRENCY) that
    the group commit (core/conversations/business_writer.py) logs them in a few transactions,
    not eight at a time."""
    account = await connected_unannounced(db, fake_tg, SELLER)
    batches: list[int] = []
    flush = BusinessLogWriter._flush

    async def counted(self: BusinessLogWriter, batch: list[Any]) -> None:
        batches.append(len(batch))
        await flush(self, batch)

    monkeypatch.setattr(BusinessLogWriter, "_flush", counted)
    read = texts_logged(bot_deps.sessions)
    async with polling(fake_tg, bot_deps, fsm_storage):
        await fake_tg.push_update(account.hears(CLIENT, "first"))
        await until(lambda: _equal(read, ["first"]))  # the chat and its contact are made
        batches.clear()
        await fake_tg.push_updates([account.hears(CLIENT, f"n{n}") for n in range(48)])
        # Handled concurrently: logged in the order their tasks reached the writer.
        expected = ["first", *sorted(f"n{n}" for n in range(48))]
        await until(lambda: _equal(read, expected), within=30.0)  # not a speed test
    assert max(batches) >= 24, f"group commits of {batches}"


async def _equal(read: Callable[[], Awaitable[list[str | None]]], expected: list[str]) -> bool:
    """The texts logged are `expected`, the first in place and the rest in any order."""
    found = await read()
    return found[:1] == expected[:1] and sorted(map(str, found[1:])) == expected[1:]


@pytest.mark.usefixtures("engine")  # a clean database (PostgreSQL is shared by the tests)
async def test_webhook_mode_asks_for_business_updates_and_logs_them(
    fake_tg: FakeTelegram, database_url: str, clock: FakeClock
) -> None:
    settings = webhook_settings(database_url, fake_tg, "https://crm.example.com/")
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    # Telegram handles webhook updates concurrently: the message may be handled before its
    # connection, and then the bot asks Telegram about the connection.
    account = await connected_unannounced(
        Db(sessions, settings.core_config(), clock), fake_tg, SELLER
    )
    read = texts_logged(sessions)
    try:
        async with running_app(settings) as (app, _bot):
            transport = httpx.ASGITransport(app=app)
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                for update_id, update in enumerate(
                    (account.connection(), account.hears(CLIENT, "hello over the webhook")), 1
                ):
                    answer = await client.post(
                        "/telegram/webhook",
                        json={"update_id": update_id, **update},
                        headers=headers,
                    )
                    assert answer.status_code == 200

                async def logged() -> bool:
                    return await read() == ["hello over the webhook"]

                await until(logged)
    finally:
        await engine.dispose()

    [registered] = [c for c in fake_tg.calls if c.method == "setWebhook"]
    assert set(registered.params["allowed_updates"]) >= BUSINESS_UPDATES
