"""The bot survives whatever Telegram answers: an HTML error page, an empty or non-JSON body,
5xx, 429, redirects. Start-up waits it out with a log line naming the wait, long polling goes
on, `/readyz` says "connecting" until Telegram has answered, and no log line holds the token."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiogram import Bot
from aiogram.fsm.storage.base import BaseStorage

from app.bot_component import BotComponent, bot_username
from app.settings import Settings
from app.wiring import Container
from bot.deps import BotDeps
from bot.runtime import BotOptions, BotRuntime
from bot.telegram_session import TelegramDownloadError
from tests.bot.updates import message_update, tg_user
from tests.fakes.telegram_api import HTML_502, TOKEN, FakeTelegram
from tests.waits import wait_until

STRANGER = 515151
FAST = (0.05, 0.5)  # first and longest wait between tries, so tests wait little


def stranger_start() -> dict[str, Any]:
    return message_update(tg_user(STRANGER), "/start")


def assert_no_token(caplog: pytest.LogCaptureFixture) -> None:
    lines = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert lines, "nothing was logged"
    assert not [line for line in lines if TOKEN in line or TOKEN.split(":")[1] in line]


async def answered_after_start(fake: FakeTelegram, runtime: BotRuntime) -> str:
    """Start the runtime, send it /start from a stranger, return its answer."""
    await runtime.start()
    try:
        await runtime.wait_ready(within=10)
        await asyncio.wait_for(fake.polled.wait(), 10)
        await fake.push_update(stranger_start())
        [reply] = await fake.wait_for("sendMessage", 1, within=10)
    finally:
        await runtime.stop()
    return reply.text or ""


@pytest.mark.parametrize(
    ("method", "answer", "logged"),
    [
        ("getMe", {}, "Telegram answered 502 (not JSON) to getMe; retrying in 0.05 s"),
        (
            "getMe",
            {"status": 200, "body": b"", "content_type": "application/json"},
            "Telegram answered 200 (empty body) to getMe; retrying in 0.05 s",
        ),
        (
            "getMe",
            {"status": 200, "body": "<html>maintenance</html>"},
            "Telegram answered 200 (not JSON) to getMe; retrying in 0.05 s",
        ),
        (
            "getMe",
            {"status": 502, "body": '{"ok": false}', "content_type": "application/json"},
            "Telegram answered 502 (not a Bot API answer) to getMe; retrying in 0.05 s",
        ),
        ("setMyCommands", {}, "Telegram answered 502 (not JSON) to setMyCommands; retrying"),
        ("deleteWebhook", {"status": 504}, "Telegram answered 504 (not JSON) to deleteWebhook"),
    ],
)
async def test_an_unreadable_answer_at_start_is_waited_out_then_the_bot_answers(
    fake_tg: FakeTelegram,
    bot_deps: BotDeps,
    fsm_storage: BaseStorage,
    caplog: pytest.LogCaptureFixture,
    method: str,
    answer: dict[str, Any],
    logged: str,
) -> None:
    caplog.set_level(logging.INFO)
    fake_tg.garble(method, **answer)
    runtime = BotRuntime(
        BotOptions(token=TOKEN, api_url=fake_tg.url, retry_delays=FAST),
        bot_deps,
        storage=fsm_storage,
    )

    reply = await answered_after_start(fake_tg, runtime)

    assert str(STRANGER) in reply
    assert [m for m in caplog.messages if m.startswith(logged)]
    assert_no_token(caplog)


async def test_json_errors_and_flood_control_at_start_are_waited_out_as_telegram_asks(
    fake_tg: FakeTelegram, bot_deps: BotDeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake_tg.fail("getMe", 500)
    fake_tg.fail("deleteWebhook", 429, retry_after=1)
    runtime = BotRuntime(BotOptions(token=TOKEN, api_url=fake_tg.url, retry_delays=FAST), bot_deps)

    assert str(STRANGER) in await answered_after_start(fake_tg, runtime)

    assert (
        "Telegram answered a server error to getMe (Internal Server Error); retrying in 0.05 s"
        in caplog.messages
    )
    assert (
        "Telegram asked to wait 1 s before deleteWebhook (429); retrying in 1 s" in caplog.messages
    )
    waited = [c.at for c in fake_tg.calls if c.method == "deleteWebhook"]
    assert waited[1] - waited[0] >= 0.95
    assert_no_token(caplog)


async def test_an_error_whose_text_holds_the_request_url_is_logged_without_the_token(
    fake_tg: FakeTelegram, bot_deps: BotDeps, caplog: pytest.LogCaptureFixture
) -> None:
    # A proxy redirecting in a loop: aiohttp gives up with an error naming the URL, which
    # holds the token (`/bot<token>/getMe`).
    caplog.set_level(logging.INFO)
    fake_tg.garble("getMe", 302, b"", times=11, headers={"Location": f"/bot{TOKEN}/getMe"})
    runtime = BotRuntime(BotOptions(token=TOKEN, api_url=fake_tg.url, retry_delays=FAST), bot_deps)

    assert str(STRANGER) in await answered_after_start(fake_tg, runtime)

    assert_no_token(caplog)
    assert [m for m in caplog.messages if m.startswith("Telegram unreachable for getMe")]


async def test_a_get_me_that_times_out_is_tried_again(
    fake_tg: FakeTelegram, bot_deps: BotDeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake_tg.delay = 1.0  # slower than the bot waits
    runtime = BotRuntime(BotOptions(token=TOKEN, api_url=fake_tg.url, retry_delays=FAST), bot_deps)
    runtime.bot.session.timeout = 0.3
    timed_out = "Telegram unreachable for getMe (Request timeout error); retrying in 0.05 s"
    await runtime.start()
    try:
        await wait_until(lambda: timed_out in caplog.messages, within=10, what="no time-out logged")
        fake_tg.delay = 0.0
        await runtime.wait_ready(within=10)
    finally:
        await runtime.stop()

    assert runtime.deps.bot_username == fake_tg.username
    assert_no_token(caplog)


async def test_long_polling_goes_on_after_html_error_pages(
    fake_tg: FakeTelegram, bot_deps: BotDeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake_tg.garble("getUpdates", 502, times=2)
    runtime = BotRuntime(BotOptions(token=TOKEN, api_url=fake_tg.url, retry_delays=FAST), bot_deps)

    assert str(STRANGER) in await answered_after_start(fake_tg, runtime)

    statuses = [c.status for c in fake_tg.calls if c.method == "getUpdates"]
    assert statuses[:3] == [502, 502, 200]
    failed = "Failed to fetch updates - TelegramBadAnswer: Telegram answered 502 (not JSON) to "
    assert failed + "getUpdates" in caplog.messages
    assert_no_token(caplog)


async def test_a_refused_token_is_logged_once_and_not_retried(
    fake_tg: FakeTelegram, bot_deps: BotDeps, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = BotRuntime(
        BotOptions(token="999:REVOKED", api_url=fake_tg.url, retry_delays=FAST), bot_deps
    )
    await runtime.start()
    try:
        await wait_until(
            lambda: runtime.status == "stopped", within=10, what="the bot never stopped"
        )
    finally:
        await runtime.stop()

    assert [c.method for c in fake_tg.calls] == ["getMe"]
    refused = [r for r in caplog.records if "PEREZVON_TELEGRAM_TOKEN" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.ERROR
    assert "REVOKED" not in caplog.text


# -- webhook mode and readiness, through the production app -----------------------------------


def bot_settings(
    database_url: str, fake: FakeTelegram, token: str = TOKEN, **extra: Any
) -> Settings:
    return Settings(
        database_url=database_url,
        telegram_token=token,  # type: ignore[arg-type]
        telegram_api_url=fake.url,
        **extra,
    )


@pytest.mark.usefixtures("engine")
async def test_webhook_set_up_waits_out_an_html_502_then_updates_are_handled(
    fake_tg: FakeTelegram, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake_tg.garble("setWebhook", 502, HTML_502)
    settings = bot_settings(
        database_url,
        fake_tg,
        telegram_mode="webhook",
        public_url="https://crm.example.com",
        telegram_webhook_secret="s3cret",
    )
    container = Container.build(settings)
    bot = BotComponent(container, retry_delays=FAST)
    app = container.http_app([bot])
    async with app.router.lifespan_context(app):
        await bot.runtime.wait_ready(within=10)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as client:
            handled = await client.post(
                "/telegram/webhook",
                json={"update_id": 1, **stranger_start()},
                headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"},
            )
            [reply] = await fake_tg.wait_for("sendMessage", 1)

    assert [c.status for c in fake_tg.calls if c.method == "setWebhook"] == [502, 200]
    assert fake_tg.webhook is not None
    assert handled.status_code == 200 and reply.chat_id == STRANGER
    logged = "Telegram answered 502 (not JSON) to setWebhook; retrying in 0.05 s"
    assert logged in caplog.messages
    assert_no_token(caplog)


@asynccontextmanager
async def served_with_the_bot(
    settings: Settings,
) -> AsyncIterator[tuple[BotComponent, httpx.AsyncClient]]:
    """The app with the bot component (retrying fast) served, its lifespan entered: the bot
    and a client of the app (nothing waits for the bot to be ready)."""
    container = Container.build(settings)
    bot = BotComponent(container, retry_delays=FAST)
    app = container.http_app([bot])
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://crm") as client,
    ):
        yield bot, client


@pytest.mark.usefixtures("engine")
async def test_readyz_is_503_while_the_bot_is_connecting_and_200_once_it_answers(
    fake_tg: FakeTelegram, database_url: str
) -> None:
    fake_tg.garble("getMe", 502, times=1_000_000)
    async with served_with_the_bot(bot_settings(database_url, fake_tg)) as (bot, client):
        # getMe answered badly, and again
        await wait_until(lambda: len(fake_tg.calls) >= 2, within=10, what="getMe was not retried")
        connecting = await client.get("/readyz")
        connecting_head = await client.head("/readyz")
        fake_tg.clear_failures()
        await bot.runtime.wait_ready(within=10)
        ready = await client.get("/readyz")
        ready_head = await client.head("/readyz")

    assert (connecting.status_code, connecting_head.status_code) == (503, 503)
    body = connecting.json()
    assert (body["status"], body["database"], body["bot"]) == ("unavailable", "ok", "connecting")
    assert body["detail"] == "bot: connecting"
    assert (ready.status_code, ready_head.status_code) == (200, 200)
    body = ready.json()
    assert (body["status"], body["database"], body["bot"]) == ("ready", "ok", "ok")
    assert body["schema"]


async def assert_readyz_says_stopped(settings: Settings) -> None:
    """Serve the app with the bot until its start-up gives up: /readyz is 503, bot stopped."""
    async with served_with_the_bot(settings) as (bot, client):
        await wait_until(lambda: bot.runtime.status == "stopped", within=10, what="never stopped")
        answer = await client.get("/readyz")

    assert answer.status_code == 503
    assert (answer.json()["bot"], answer.json()["detail"]) == ("stopped", "bot: stopped")


@pytest.mark.usefixtures("engine")
async def test_readyz_is_503_when_telegram_refused_the_token(
    fake_tg: FakeTelegram, database_url: str
) -> None:
    await assert_readyz_says_stopped(bot_settings(database_url, fake_tg, token="999:REVOKED"))


async def test_the_bot_name_for_invite_links_is_unknown_while_telegram_answers_html(
    fake_tg: FakeTelegram,
) -> None:
    settings = Settings(
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake_tg.url,
    )
    fake_tg.garble("getMe", 502)

    assert await bot_username(settings) is None  # `users invite` prints the code without a link
    assert await bot_username(settings) == fake_tg.username


async def test_a_failed_download_names_the_file_and_status_not_the_url(tg_bot: Bot) -> None:
    with pytest.raises(TelegramDownloadError) as raised:
        await tg_bot.download_file("documents/file_9.xlsx", destination=io.BytesIO())

    assert str(raised.value) == "downloading file file_9.xlsx: Telegram answered 404"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


@pytest.mark.usefixtures("engine")
async def test_a_webhook_telegram_refuses_stops_the_bot_with_a_logged_reason_and_readyz_says_so(
    fake_tg: FakeTelegram, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A start-up failure other than a refused token (issue 16 §5): not swallowed with its
    # task, not "ready" while nothing can reach the bot.
    fake_tg.fail("setWebhook", 400, "Bad Request: bad webhook: IP address 10.0.0.1 is reserved")
    settings = bot_settings(
        database_url, fake_tg, telegram_mode="webhook", public_url="https://10.0.0.1"
    )
    await assert_readyz_says_stopped(settings)
    [logged] = [r for r in caplog.records if "could not start" in r.getMessage()]
    assert (
        logged.levelno == logging.ERROR and "IP address 10.0.0.1 is reserved" in logged.getMessage()
    )
    assert [c.method for c in fake_tg.calls].count("setWebhook") == 1  # refused: not retried
    assert_no_token(caplog)
