"""Polling and webhook modes end to end: the real app and Bot against the fake Bot API server."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from aiogram import Dispatcher, Router
from aiogram.filters import Command
from aiogram.fsm.storage.base import BaseStorage
from aiogram.methods import SendMessage
from aiogram.types import Message
from fastapi import FastAPI

from app.bot_component import BotComponent
from app.settings import Settings
from app.wiring import Container
from bot import webhook
from bot.deps import BotDeps
from bot.runtime import BotOptions, BotRuntime, create_bot, derived_webhook_secret
from tests.bot.conftest import REDIS_URL, close_bot
from tests.bot.updates import message_update, tg_user
from tests.fakes.telegram_api import TOKEN, FakeTelegram

STRANGER = 424242
SECRET = "s3cret-Token_1"

MakeApp = Callable[..., Any]


def stranger_start(update_id: int | None = None) -> dict[str, Any]:
    update: dict[str, Any] = message_update(tg_user(STRANGER), "/start")
    if update_id is not None:
        update["update_id"] = update_id
    return update


async def test_polling_mode_answers_a_user_and_sets_the_command_menus(
    fake_tg: FakeTelegram, bot_deps: BotDeps, fsm_storage: BaseStorage
) -> None:
    options = BotOptions(token=TOKEN, api_url=fake_tg.url)
    runtime = BotRuntime(options, bot_deps, storage=fsm_storage)
    errors: list[BaseException] = []
    runtime.dispatcher.errors.register(lambda event: errors.append(event.exception))
    await runtime.start()
    try:
        await runtime.wait_ready(within=5)
        await asyncio.wait_for(fake_tg.polled.wait(), 5)
        await fake_tg.push_update(stranger_start())

        [reply] = await fake_tg.wait_for("sendMessage", 1, where=lambda c: c.chat_id == STRANGER)
    finally:
        await runtime.stop()

    assert str(STRANGER) in (reply.text or "")
    assert bot_deps.bot_username == fake_tg.username
    languages = {c.params.get("language_code") for c in fake_tg.sent("setMyCommands")}
    assert languages == {"ru", "en", None}
    assert [c.method for c in fake_tg.calls if c.method.endswith("Webhook")] == ["deleteWebhook"]
    assert errors == []


async def test_polling_waits_for_telegram_to_come_back_at_start(
    fake_tg: FakeTelegram, bot_deps: BotDeps
) -> None:
    fake_tg.fail("getMe", 502, times=1)
    runtime = BotRuntime(BotOptions(token=TOKEN, api_url=fake_tg.url), bot_deps)
    await runtime.start()
    try:
        await runtime.wait_ready(within=5)
    finally:
        await runtime.stop()

    assert [c.status for c in fake_tg.calls if c.method == "getMe"][:2] == [502, 200]


@asynccontextmanager
async def running_app(
    settings: Settings, *, within: float = 5, **component_options: Any
) -> AsyncIterator[tuple[FastAPI, BotComponent]]:
    """The production app (REST, PBX webhooks, bot webhook) with its lifespan entered, once the
    bot is ready (waited for `within` seconds)."""
    container = Container.build(settings)
    bot = BotComponent(container, **component_options)
    app = container.http_app([bot])
    async with app.router.lifespan_context(app):
        await bot.runtime.wait_ready(within=within)
        yield app, bot


def webhook_settings(database_url: str, fake: FakeTelegram, public_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake.url,
        telegram_mode="webhook",
        public_url=public_url,
        telegram_webhook_secret=SECRET,  # type: ignore[arg-type]
    )


@pytest.mark.usefixtures("engine")  # a clean database (PostgreSQL is shared by the tests)
async def test_webhook_mode_refuses_wrong_secrets_and_handles_the_right_one(
    fake_tg: FakeTelegram, database_url: str
) -> None:
    settings = webhook_settings(database_url, fake_tg, "https://crm.example.com/")
    async with running_app(settings) as (app, _bot):
        assert fake_tg.webhook == {
            "url": "https://crm.example.com/telegram/webhook",
            "secret_token": SECRET,
        }
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            path, update = "/telegram/webhook", stranger_start(update_id=1)
            missing = await client.post(path, json=update)
            wrong = await client.post(
                path, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}
            )
            non_ascii = await client.post(
                path,
                json=update,
                headers=[(b"X-Telegram-Bot-Api-Secret-Token", "секрет".encode())],
            )
            right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            garbage = await client.post(path, content=b"{not json", headers=right)
            no_update = await client.post(path, json={"message": {}}, headers=right)
            assert fake_tg.sent("sendMessage") == []
            handled = await client.post(path, json=update, headers=right)

    assert (missing.status_code, wrong.status_code, non_ascii.status_code) == (401, 403, 403)
    assert "secret" in missing.json()["detail"].lower()
    assert (garbage.status_code, no_update.status_code) == (400, 400)
    assert handled.status_code == 200
    [reply] = fake_tg.sent("sendMessage", chat_id=STRANGER)
    assert str(STRANGER) in (reply.text or "")


async def test_webhook_route_sends_the_method_a_handler_returns(fake_tg: FakeTelegram) -> None:
    bot = create_bot(token=TOKEN, api_url=fake_tg.url)
    dispatcher = Dispatcher()
    router = Router()

    @router.message(Command("ping"))
    async def ping(message: Message) -> SendMessage:
        return message.answer("pong")  # returned, not awaited: the route must send it

    dispatcher.include_router(router)
    app = FastAPI()
    app.include_router(webhook.create_router(bot=bot, dispatcher=dispatcher, secret=SECRET))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://app"
        ) as client:
            response = await client.post(
                "/telegram/webhook",
                json={"update_id": 5, **message_update(tg_user(STRANGER), "/ping")},
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
        # The update is handled after the answer.
        [reply] = await fake_tg.wait_for("sendMessage", 1, where=lambda c: c.chat_id == STRANGER)
    finally:
        await close_bot(bot)

    assert response.status_code == 200
    assert reply.text == "pong"


@pytest.mark.usefixtures("engine")
async def test_webhook_mode_over_uvicorn_receives_updates_telegram_posts(
    fake_tg: FakeTelegram, database_url: str
) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = webhook_settings(database_url, fake_tg, f"http://127.0.0.1:{port}")
    container = Container.build(settings)
    bot = BotComponent(container)
    app = container.http_app([bot])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            for _ in itertools.count():
                if server.started:
                    break
                await asyncio.sleep(0.02)
        await bot.runtime.wait_ready(within=5)
        update_id = await fake_tg.push_update(stranger_start())
        [reply] = await fake_tg.wait_for("sendMessage", 1)
    finally:
        server.should_exit = True
        await serving
        sock.close()

    assert fake_tg.webhook_deliveries == [(update_id, 200)]
    assert reply.chat_id == STRANGER


def test_without_a_configured_secret_one_is_derived_from_the_token() -> None:
    secret = derived_webhook_secret(TOKEN)

    assert secret == derived_webhook_secret(TOKEN) != derived_webhook_secret("1:other")
    assert 1 <= len(secret) <= 256 and secret.isalnum()
    assert BotOptions(token=TOKEN).secret == secret


@pytest.mark.skipif(not REDIS_URL, reason="PEREZVON_TEST_REDIS_URL is not set")
async def test_redis_fsm_state_survives_a_restart() -> None:
    from aiogram.fsm.storage.base import StorageKey

    from bot.runtime import create_storage

    assert REDIS_URL is not None
    key = StorageKey(bot_id=123456, chat_id=987650, user_id=987650)
    first = create_storage(REDIS_URL)
    await first.set_state(key, "NewContact:name")
    await first.set_data(key, {"phone": "+79161234567"})
    await first.close()

    second = create_storage(REDIS_URL)
    try:
        assert await second.get_state(key) == "NewContact:name"
        assert await second.get_data(key) == {"phone": "+79161234567"}
    finally:
        await second.set_state(key, None)
        await second.set_data(key, {})
        await second.close()


async def test_a_rejected_token_stops_the_bot_with_a_clear_error(
    fake_tg: FakeTelegram, bot_deps: BotDeps, caplog: pytest.LogCaptureFixture
) -> None:
    from aiogram.exceptions import TelegramUnauthorizedError

    runtime = BotRuntime(BotOptions(token="999:REVOKED", api_url=fake_tg.url), bot_deps)
    await runtime.start()
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await runtime.wait_ready(within=5)
    finally:
        await runtime.stop()

    assert "PEREZVON_TELEGRAM_TOKEN" in caplog.text
    assert "REVOKED" not in caplog.text  # the token is never logged
