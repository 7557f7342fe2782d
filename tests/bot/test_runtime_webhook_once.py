"""`POST /telegram/webhook`: an update delivered again is applied once (on both databases),
any body gets a 4xx with a reason, and the answer does not wait for the handler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiogram import Dispatcher, Router
from aiogram.filters import Command
from aiogram.types import Message
from fastapi import FastAPI
from sqlalchemy import func, select

from app.bot_component import BotComponent
from bot import webhook
from bot.callbacks import ContactCb
from bot.runtime import create_bot
from core import housekeeping
from core.contacts import service as contacts
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.models import Note
from core.telegram import updates as telegram_updates
from core.telegram.models import TelegramUpdate
from tests.bot.conftest import close_bot
from tests.bot.test_runtime_modes import SECRET, running_app, webhook_settings
from tests.bot.updates import message_update, tg_user
from tests.conftest import Db
from tests.fakes.clock import FakeClock
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.waits import wait_until

SELLER = 8101
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def card_message(contact_id: int, fake: FakeTelegram) -> dict[str, Any]:
    """A contact card as Telegram includes it in a reply: its buttons name the contact."""
    history = ContactCb(action="timeline", id=contact_id).pack()
    return {
        "message_id": 3,
        "date": 0,
        "chat": {"id": SELLER, "type": "private", "first_name": "Пётр"},
        "from": {"id": fake.bot_id, "is_bot": True, "first_name": "Bot"},
        "text": "Анна",
        "reply_markup": {"inline_keyboard": [[{"text": "История", "callback_data": history}]]},
    }


@asynccontextmanager
async def webhook_app(
    database_url: str, fake: FakeTelegram
) -> AsyncIterator[tuple[httpx.AsyncClient, BotComponent]]:
    """The production app with the bot in webhook mode, its lifespan entered."""
    settings = webhook_settings(database_url, fake, "https://crm.example.com")
    async with running_app(settings, within=10) as (app, bot):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as client:
            yield client, bot


async def client_of_seller(db: Db) -> Contact:
    """The salesperson SELLER and their client Анна, committed: whose card a reply quotes."""
    seller = await db.user(telegram_id=SELLER)
    async with db.ctx() as ctx:
        return await contacts.create_contact(
            ctx, actor=Actor.of_user(seller), name="Анна", phones=["+79161234567"]
        )


@pytest.mark.usefixtures("engine")
async def test_a_reply_as_note_delivered_three_times_makes_one_note(
    fake_tg: FakeTelegram, database_url: str, db: Db
) -> None:
    contact = await client_of_seller(db)
    reply = message_update(
        tg_user(SELLER, "Пётр"),
        "Просила скидку 10%",
        reply_to_message=card_message(contact.id, fake_tg),
    )
    update = {"update_id": 500_001, **reply}

    async with webhook_app(database_url, fake_tg) as (client, _bot):
        # Telegram redelivers when it thinks an answer was lost: at once, and again later.
        together = await asyncio.gather(
            *(client.post("/telegram/webhook", json=update, headers=HEADERS) for _ in range(2))
        )
        await fake_tg.wait_for("sendMessage", 1, where=lambda c: c.chat_id == SELLER)
        later = await client.post("/telegram/webhook", json=update, headers=HEADERS)
    # The lifespan has ended: every handler that was started has finished.

    notes = [note.text for note in await db.rows(Note, Note.contact_id == contact.id)]
    assert notes == ["Просила скидку 10%"]
    answers = [r.json() for r in [*together, later]]
    assert [r.status_code for r in [*together, later]] == [200, 200, 200]
    assert answers.count({"ok": True}) == 1
    assert answers.count({"ok": True, "duplicate": True}) == 2
    assert [c.text for c in fake_tg.sent("sendMessage", chat_id=SELLER)] == [
        "📝 Заметка добавлена."
    ]


async def test_claims_are_per_bot_and_pruned_after_the_retention(
    ctx: Ctx, clock: FakeClock
) -> None:
    assert await telegram_updates.claim(ctx, bot_id=1, update_id=7) is True
    assert await telegram_updates.claim(ctx, bot_id=1, update_id=7) is False
    assert await telegram_updates.claim(ctx, bot_id=2, update_id=7) is True
    clock.advance(days=2)
    assert await telegram_updates.claim(ctx, bot_id=1, update_id=8) is True

    clock.advance(days=1, seconds=1)  # the first three are past the 3 days, the last is not
    assert await housekeeping.purge_telegram_updates(ctx) == 2
    left = set(await ctx.session.execute(select(TelegramUpdate.bot_id, TelegramUpdate.update_id)))
    assert left == {(1, 8)}
    assert await ctx.session.scalar(select(func.count()).select_from(TelegramUpdate)) == 1


# -- bodies, without a database -----------------------------------------------------------------


@asynccontextmanager
async def bare_webhook(
    fake: FakeTelegram, claim: webhook.Claim | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The webhook route alone, over a dispatcher that answers /ping with "pong"."""
    bot = create_bot(token=TOKEN, api_url=fake.url)
    dispatcher = Dispatcher()
    router = Router()

    @router.message(Command("ping"))
    async def ping(message: Message) -> None:
        await message.answer("pong")

    dispatcher.include_router(router)
    app = FastAPI()
    app.include_router(
        webhook.create_router(bot=bot, dispatcher=dispatcher, secret=SECRET, claim=claim)
    )
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm") as client:
            yield client
    finally:
        await close_bot(bot)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000, "nested too deeply"),
        (b'{"update_id": 1, "message": ' + b'{"a": ' * 100_000, "nested too deeply"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2]", "a JSON list, not an object"),
        (b'"update"', "a JSON str, not an object"),
        (b'{"update_id": "1"}', "no update_id"),
        (b'{"update_id": 18446744073709551616}', "no update_id"),
        (b'{"update_id": -1}', "no update_id"),
        (b'{"update_id": 1, "message": {"chat": []}}', "the body is not a Telegram Update"),
    ],
)
async def test_any_body_gets_a_400_with_the_reason(
    fake_tg: FakeTelegram, body: bytes, reason: str
) -> None:
    async with bare_webhook(fake_tg) as client:
        answer = await client.post("/telegram/webhook", content=body, headers=HEADERS)

    assert answer.status_code == 400
    assert reason in answer.json()["detail"]


async def test_a_body_over_a_megabyte_is_refused_unread(fake_tg: FakeTelegram) -> None:
    padding = "x" * (1024 * 1024)
    body = f'{{"update_id": 1, "padding": "{padding}"}}'.encode()

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    async with bare_webhook(fake_tg) as client:
        declared = await client.post("/telegram/webhook", content=body, headers=HEADERS)
        streamed = await client.post("/telegram/webhook", content=chunks(), headers=HEADERS)

    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert "1048576 bytes" in declared.json()["detail"]


async def test_an_update_that_cannot_be_recorded_is_503_so_telegram_delivers_it_again(
    fake_tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    async def database_down(update_id: int) -> bool:
        raise ConnectionRefusedError("database is down")

    update = {"update_id": 9, **message_update(tg_user(SELLER), "/ping")}
    async with bare_webhook(fake_tg, claim=database_down) as client:
        answer = await client.post("/telegram/webhook", json=update, headers=HEADERS)

    assert answer.status_code == 503
    assert "again later" in answer.json()["detail"]
    assert fake_tg.sent("sendMessage") == []
    assert "update 9: could not record it" in caplog.text


async def test_the_answer_does_not_wait_for_a_slow_handler(fake_tg: FakeTelegram) -> None:
    fake_tg.delay = 0.5  # every Bot API call of the handler takes half a second
    update = {"update_id": 10, **message_update(tg_user(SELLER), "/ping")}
    async with bare_webhook(fake_tg) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        answer = await client.post("/telegram/webhook", json=update, headers=HEADERS)
        answered_in = loop.time() - started
        [reply] = await fake_tg.wait_for("sendMessage", 1)

    assert answer.status_code == 200 and answer.json() == {"ok": True}
    assert answered_in < 0.4
    assert reply.text == "pong"


async def test_a_failing_handler_is_logged_with_the_update_id(
    fake_tg: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake_tg.fail("sendMessage", 400)
    update = {"update_id": 11, **message_update(tg_user(SELLER), "/ping")}
    async with bare_webhook(fake_tg) as client:
        answer = await client.post("/telegram/webhook", json=update, headers=HEADERS)
        refused = "update 11: Telegram refused the reply"
        await wait_until(
            lambda: refused in caplog.text, within=5, what="the refusal was not logged"
        )

    assert answer.status_code == 200
