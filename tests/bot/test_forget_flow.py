"""Forgetting a client who wrote to the company bot: what they wrote, their request and the
copies queued for the salesperson are gone; nothing about them is delivered afterwards."""

from __future__ import annotations

from aiogram import Bot
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deps import BotDeps
from core.clock import FakeClock
from core.config import CoreConfig
from core.contacts.models import Contact
from core.conversations.models import ChatMessage, Conversation
from core.deals.models import Deal
from core.notes.models import Note
from core.outbox.models import Notification
from core.users.models import User
from tests.app.test_forget_cli import cli_db as cli_db  # the CLI's database set-up
from tests.app.test_forget_cli import in_thread
from tests.bot.conftest import Feed
from tests.bot.updates import TgUser, make_user
from tests.fakes.telegram_api import FakeTelegram
from tests.orders_helpers import deliver

CLIENT_TG, SELLER_TG = 880001, 7301


async def test_a_forgotten_client_leaves_nothing_to_deliver_or_read(
    cli_db: str,
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    bot_deps: BotDeps,
    tg_bot: Bot,
) -> None:
    seller = await make_user(sessions, config, clock, telegram_id=SELLER_TG, name="Анна")
    async with sessions() as session:
        await session.execute(update(User).where(User.id == seller.id).values(on_duty=True))
        await session.commit()
    client = TgUser(feed, fake_tg, CLIENT_TG, first_name="Мария")
    await client.say("/start")
    await client.say("Мой паспорт 4510 123456, нужен договор")
    await client.say("✍️ Оставить заявку")
    await client.say("Счёт на 10 коробок")
    async with sessions() as session:
        contact = (await session.scalars(select(Contact))).one()
        assert await session.scalar(select(func.count()).select_from(ChatMessage)) >= 1
        assert await session.scalar(select(func.count()).select_from(Notification)) >= 1

    assert await in_thread("contacts", "forget", str(contact.id), "--yes") == 0

    before = len(fake_tg.calls)
    await deliver(bot_deps, tg_bot)
    about_her = [c for c in fake_tg.calls[before:] if "Мария" in str(c.params)]
    assert about_her == []
    async with sessions() as session:
        for model in (Contact, ChatMessage, Conversation, Note, Notification):
            assert await session.scalar(select(func.count()).select_from(model)) == 0, model
        deal = (await session.scalars(select(Deal))).one()  # the team's deal stays, unlinked
        assert deal.contact_id is None and deal.title == f"#{deal.id}"
