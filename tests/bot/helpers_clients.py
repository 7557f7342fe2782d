"""Shared steps for the client-chat tests: staff who take client chats, the relays they got,
a staff member's reply to a relay as Telegram sends it, the welcome a new client gets, the
outbox sender run for a while, and a salesperson's connected Telegram Business account."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiogram import Bot

from bot.delivery import OutboxSender
from bot.deps import BotDeps
from core.models import ChatMessage, MessageRelay, User
from tests.bot.updates import TgUser, message_update
from tests.conftest import Db
from tests.fakes.telegram_api import Call, FakeTelegram
from tests.fakes.telegram_business import BusinessAccount
from tests.waits import until


async def add_staff(
    db: Db, tg: int, name: str, *, on_duty: bool = False, role: str = "sales"
) -> User:
    """An employee in Telegram (`on_duty`: new clients without an owner are routed to them)."""
    user = await db.user(telegram_id=tg, name=name, role=role)
    if on_duty:
        async with db.sessions() as session:
            stored = await session.get(User, user.id)
            assert stored is not None
            stored.on_duty = True
            await session.commit()
    return user


async def relays_to(db: Db, chat: int) -> list[MessageRelay]:
    """The relays of client messages recorded in a staff member's chat, oldest first."""
    return await db.rows(MessageRelay, MessageRelay.staff_chat_id == chat)


async def reply_to_relay(staff: TgUser, db: Db, **content: Any) -> list[Call]:
    """The staff member replies to the latest message the client's relay became (the sender
    records the relay just after Telegram took the message: awaited, not slept on)."""
    relays = await until(lambda: relays_to(db, staff.id))
    replied = {
        "message_id": relays[-1].staff_message_id,
        "date": 0,
        "chat": {"id": staff.id, "type": "private", "first_name": staff.first_name},
        "from": {"id": staff.fake.bot_id, "is_bot": True, "first_name": "Bot"},
        "text": "relay",
    }
    update = message_update(
        staff.user, content.pop("text", None), reply_to_message=replied, **content
    )
    return await staff._run(update)


async def welcome_of(fake: FakeTelegram, chat: int) -> Call:
    """The welcome a new client's first message brought them: queued by the use case before
    anything else to their chat, so the outbox sender's first message there; it carries their
    reply keyboard (share the phone: `request_contact`)."""
    welcome = (await fake.wait_for(where=lambda c: c.chat_id == chat))[0]
    assert welcome.params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert welcome.params.get("parse_mode") is None  # plain text: the company's own words
    return welcome


async def timeline(db: Db) -> list[tuple[str, str | None]]:
    """The timeline of client chats, oldest first: (direction, who wrote it: "welcome",
    "auto_reply", … for the company's texts, None for the client's and the staff's own)."""
    return [(m.direction, m.author_label) for m in await db.rows(ChatMessage)]


@contextlib.asynccontextmanager
async def sending(bot: Bot, deps: BotDeps) -> AsyncIterator[OutboxSender]:
    """The real outbox sender, running for the block (a test that first looks at what the
    handlers did alone, then at what the sender delivers)."""
    sender = OutboxSender(bot, deps, poll_interval=0.02, per_chat_burst=50)
    await sender.start()
    try:
        yield sender
    finally:
        await sender.stop()


def to_chat(fake: FakeTelegram, chat: int, method: str | None = None) -> list[Call]:
    """The Bot API calls Telegram accepted for one chat (of one `method`, or all)."""
    return [
        c
        for c in fake.calls
        if c.chat_id == chat and c.status == 200 and (method is None or c.method == method)
    ]


async def connected_unannounced(db: Db, fake: FakeTelegram, telegram_id: int) -> BusinessAccount:
    """A salesperson whose Telegram Business account Telegram knows as connected, while the
    bot has not been told (its `business_connection` update missed or still to come)."""
    await db.user(telegram_id=telegram_id)
    account = BusinessAccount(telegram_id)
    fake.business_connections[account.connection_id] = account.connection_object()
    return account
