"""Grouped relays (issue 17 benchmark): client messages that wait for a salesperson's chat go
out as one message, end to end through the fake Bot API, and every reply still reaches the
right client.

Telegram lets a bot write about one message a second into one chat; clients can write faster
than that. The outbox sender then relays what waits for one chat as one message: grouped by
client, each client's messages in order, a card button per client, media copied after it,
never over 4096 characters. A reply quoting a client's words goes to that client; a reply
without a quote to a message showing several clients makes the bot ask whom it is for.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import client_chats, notifications
from bot.delivery import OutboxSender
from bot.deps import BotDeps
from bot.notifications import Rendered
from core.models import ChatMessage, MessageRelay, Notification
from tests.bot.conftest import Tg
from tests.bot.helpers_clients import add_staff, relays_to, to_chat
from tests.bot.helpers_delivery import plain_render, queue
from tests.bot.updates import TgUser, buttons, callback_update, message_update
from tests.conftest import Db
from tests.fakes.telegram_api import Call, FakeTelegram
from tests.waits import until

IVAN, PETR = 7001, 7002
ANNA = 5001


def slow_sender(tg_bot: Bot, bot_deps: BotDeps) -> OutboxSender:
    """Telegram's budget for one chat: one message at a time, then one a second."""
    return OutboxSender(
        tg_bot, bot_deps, poll_interval=0.02, per_chat_burst=1, per_chat_interval=1.0
    )


@pytest.fixture
async def staff(tg: Tg) -> TgUser:
    await add_staff(tg.db, ANNA, "Анна")
    return tg.user(ANNA, "Анна")


@pytest.fixture
async def sender(tg: Tg) -> AsyncIterator[OutboxSender]:
    made = slow_sender(tg.bot, tg.deps)
    yield made
    await made.stop()


def relays(fake: FakeTelegram) -> list[Call]:
    return [c for c in to_chat(fake, ANNA) if c.method in ("sendMessage", "copyMessage")]


async def reply_to(
    staff: TgUser, call: Call, message_id: int, text: str, **extra: Any
) -> tuple[list[Call], dict[str, Any]]:
    """The salesperson replies to the relayed message `call` (it became `message_id`): what
    the bot did, and the reply as Telegram shows it."""
    replied = {
        "message_id": message_id,
        "date": 0,
        "chat": {"id": staff.id, "type": "private", "first_name": staff.first_name},
        "from": {"id": staff.fake.bot_id, "is_bot": True, "first_name": "Bot"},
        "text": call.params.get("text") or "",
        "reply_markup": call.params.get("reply_markup"),
    }
    update = message_update(staff.user, text, reply_to_message=replied, **extra)
    return await staff._run(update), update["message"]


def staff_message_id(call: Call) -> int:
    assert isinstance(call.result, dict)
    return int(call.result["message_id"])


async def test_a_burst_from_two_clients_is_one_message_and_each_reply_reaches_its_client(
    tg: Tg, staff: TgUser, sender: OutboxSender
) -> None:
    ivan = tg.user(IVAN, "Иван")
    petr = tg.user(PETR, "Пётр")
    await ivan.say("Иван раз")
    await petr.say("Пётр два")
    await ivan.say("Иван три")
    photo = [{"file_id": "big", "file_unique_id": "b", "width": 900, "height": 900}]
    await petr.send(photo=photo, caption="Пётр фото")
    await sender.start()

    await until(lambda: _relays_recorded(tg.db, 4))
    shown = relays(tg.fake)
    texts = [c for c in shown if c.method == "sendMessage"]
    assert len(texts) == 1  # three texts waiting for one chat: one message
    text = texts[0].text or ""
    assert re.search(r"Иван.*\n.*Иван раз\n.*Иван три.*\n\n.*Пётр.*\n.*Пётр два", text, re.S)
    cards = [b["text"] for b in buttons(texts[0].params["reply_markup"])]
    assert cards == ["👤 Иван", "👤 Пётр"]  # a card button per client
    photos = [c for c in shown if c.method == "copyMessage"]
    assert len(photos) == 1 and "Пётр фото" in photos[0].params["caption"]
    assert photos[0].params["from_chat_id"] == PETR
    grouped = staff_message_id(texts[0])
    async with tg.db.sessions() as session:
        rows = list(await session.scalars(select(MessageRelay).order_by(MessageRelay.id)))
    assert sorted(r.staff_message_id for r in rows).count(grouped) == 3

    # A reply quoting Пётр's words goes to Пётр.
    quote = {"text": "Пётр два", "position": 0}
    await reply_to(staff, texts[0], grouped, "Пётр, ответ", quote=quote)
    to_petr = await tg.fake.wait_for("copyMessage", where=lambda c: c.chat_id == PETR)
    assert to_petr[0].params["from_chat_id"] == ANNA
    # A reply to the photo's copy shows one client: it goes to him without asking.
    await reply_to(staff, photos[0], staff_message_id(photos[0]), "Фото получили")
    await tg.fake.wait_for("copyMessage", 2, where=lambda c: c.chat_id == PETR)

    # A reply without a quote: the bot asks whom it is for, and sends it once chosen.
    answer, own_reply = await reply_to(staff, texts[0], grouped, "Иван, ответ")
    asked = [c for c in answer if c.method == "sendMessage"]
    assert len(asked) == 1 and "Кому отправить ответ" in (asked[0].text or "")
    choices = [b["text"] for b in buttons(asked[0].params["reply_markup"])]
    assert choices == ["👤 Иван", "👤 Пётр"]
    assert not to_chat(tg.fake, IVAN, "copyMessage")
    question = staff.bot_message(asked[0])
    question["reply_to_message"] = own_reply  # Telegram shows what the question replied to
    data = next(
        b["callback_data"] for b in buttons(asked[0].params["reply_markup"]) if "Иван" in b["text"]
    )
    await staff._run(callback_update(staff.user, data, message=question))
    to_ivan = await tg.fake.wait_for("copyMessage", where=lambda c: c.chat_id == IVAN)
    assert to_ivan[0].params["message_id"] == own_reply["message_id"]
    edited = [c for c in staff.last if c.method == "editMessageText"]
    assert edited and "Ответ отправлен: Иван" in (edited[0].text or "")
    await asyncio.sleep(0.2)
    assert len(to_chat(tg.fake, PETR, "copyMessage")) == 2  # nothing else went to Пётр
    assert len(to_chat(tg.fake, IVAN, "copyMessage")) == 1


async def test_a_grouped_relay_longer_than_a_message_is_split_between_clients(
    tg: Tg, staff: TgUser, sender: OutboxSender
) -> None:
    ivan = tg.user(IVAN, "Иван")
    petr = tg.user(PETR, "Пётр")
    words = {
        "a": "Иван " + "слово " * 500,  # ~3,000 characters each
        "b": "Пётр " + "текст " * 500,
        "c": "Иван " + "ещё " * 700,
        "d": "Пётр коротко",
    }
    await ivan.say(words["a"])
    await petr.say(words["b"])
    await ivan.say(words["c"])
    await petr.say(words["d"])
    await sender.start()
    await until(lambda: _relays_recorded(tg.db, 4))
    parts = [c for c in relays(tg.fake) if c.method == "sendMessage"]
    assert 1 < len(parts) < 4
    assert all(len((c.text or "").encode("utf-16-le")) // 2 <= 4096 for c in parts)
    joined = "\n".join(c.text or "" for c in parts)
    for text in words.values():
        assert joined.count(text.strip()) == 1  # each whole, none cut, none twice
    for part in parts:  # every part names its clients in a header and on a button
        names = [b["text"] for b in buttons(part.params["reply_markup"])]
        for name in ("Иван", "Пётр"):
            assert (f"<b>{name}</b>" in (part.text or "")) == (f"👤 {name}" in names)
    async with tg.db.sessions() as session:
        rows = list(await session.scalars(select(MessageRelay)))
        messages = {m.id: m.text for m in await session.scalars(select(ChatMessage))}
    by_part = {staff_message_id(c): c.text or "" for c in parts}
    for row in rows:  # each relay recorded on the part that shows it
        assert (messages[row.message_id] or "").strip() in by_part[row.staff_message_id]


async def test_a_restart_while_relays_wait_loses_none_and_sends_none_twice(
    tg: Tg, staff: TgUser
) -> None:
    ivan = tg.user(IVAN, "Иван")
    petr = tg.user(PETR, "Пётр")
    first = slow_sender(tg.bot, tg.deps)
    await first.start()
    await ivan.say("m1 вопрос")
    await tg.fake.wait_for(where=lambda c: c.chat_id == ANNA and "m1 " in (c.text or ""))
    for n in range(2, 8):  # these wait for the chat's next second
        await (ivan if n % 2 else petr).say(f"m{n} вопрос")
    await asyncio.sleep(0.2)
    await first.stop()  # the bot stops (SIGTERM) while they wait
    second = slow_sender(tg.bot, tg.deps)
    await second.start()
    try:
        await until(lambda: _relays_recorded(tg.db, 7), within=10)
        await asyncio.sleep(1.5)  # anything sent twice would show by now
    finally:
        await second.stop()
    shown = "\n".join(c.text or "" for c in relays(tg.fake))
    for n in range(1, 8):
        assert len(re.findall(rf"\bm{n} ", shown)) == 1
    assert len(relays(tg.fake)) < 7  # the waiting ones went together
    assert len(await relays_to(tg.db, ANNA)) == 7


async def test_a_screen_pop_goes_at_once_while_clients_keep_the_chat_busy(
    tg: Tg, staff: TgUser
) -> None:
    async def render(session: AsyncSession, deps: BotDeps, row: Notification) -> Rendered | None:
        if row.kind == "incoming_call":  # the pop's text as queued; relays as the bot shows them
            return await plain_render(session, deps, row)
        return await notifications.render(session, deps, row)

    # Telegram's budget for one chat: a burst of 3, then one a second.
    sender = OutboxSender(
        tg.bot,
        tg.deps,
        poll_interval=0.02,
        per_chat_burst=3,
        per_chat_interval=1.0,
        render=render,
        group_render=client_chats.render_relay_group,
    )
    await sender.start()
    clients = [tg.user(7100 + n, f"Клиент{n}") for n in range(3)]
    try:
        for n in range(12):  # four messages a second into Анна's chat for three seconds
            await clients[n % 3].say(f"m{n} вопрос")
            await asyncio.sleep(0.25)
        await queue(tg.deps, ["POP"], chat_id=ANNA, kind="incoming_call")
        queued = time.monotonic()
        pop = await tg.fake.wait_for(where=lambda c: c.text == "POP", within=5)
        await until(lambda: _relays_recorded(tg.db, 12), within=10)
    finally:
        await sender.stop()
    assert pop[0].at - queued < 0.6  # not after the chat's next second
    shown = "\n".join(c.text or "" for c in relays(tg.fake))
    assert all(len(re.findall(rf"\bm{n} ", shown)) == 1 for n in range(12))
    assert len(relays(tg.fake)) < 12


async def _relays_recorded(db: Db, count: int) -> bool:
    return len({row.message_id for row in await db.rows(MessageRelay)}) >= count
