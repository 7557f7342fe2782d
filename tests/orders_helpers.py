"""Shared steps of the orders, timeline and forget tests: stages clients see, a client who
wrote to the company bot, the outbox delivered through the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiogram import Bot
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deps import BotDeps
from bot.notifications import render
from core.contacts import service as contacts
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.deals.models import PipelineStage
from core.outbox import service as outbox
from tests.conftest import Db
from tests.factories import make_conversation

# What the tests show clients: (ru, en, notify) per stage code.
CLIENT_STAGES = {
    "qualified": ("Принят", "Accepted", False),
    "proposal": ("Собирается", "Being packed", False),
    "negotiation": ("Отправлен", "Shipped", True),
}


@asynccontextmanager
async def client_stages(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[None]:
    """Stages with client-facing names for one test; undone after it (PostgreSQL keeps the
    stages table between tests)."""
    async with sessions() as session:
        for code, (ru, en, notify) in CLIENT_STAGES.items():
            await session.execute(
                update(PipelineStage)
                .where(PipelineStage.code == code)
                .values(client_name_ru=ru, client_name_en=en, notify_client=notify)
            )
        await session.commit()
    try:
        yield
    finally:
        await reset_stages(sessions)


async def reset_stages(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        await session.execute(
            update(PipelineStage).values(
                client_name_ru=None, client_name_en=None, notify_client=False
            )
        )
        await session.commit()


async def make_client(
    db: Db,
    *,
    name: str = "Мария Соколова",
    phone: str = "+79161112233",
    telegram_id: int | None = 880001,
    language: str = "ru",
    owner_id: int | None = None,
) -> Contact:
    """A contact; with `telegram_id`, one who wrote to the company bot (an open conversation)."""
    async with db.ctx() as ctx:
        session = ctx.session
        contact = await contacts.create_contact(
            ctx, actor=Actor.system("test"), name=name, phones=[phone], owner_id=owner_id
        )
        if telegram_id is not None:
            await session.execute(
                update(Contact).where(Contact.id == contact.id).values(telegram_user_id=telegram_id)
            )
            chat = await make_conversation(
                ctx, contact, telegram_id, telegram_user_id=telegram_id, language=language
            )
            chat.last_in_at = db.clock.now()
            await session.commit()
        return contact


async def deliver(deps: BotDeps, bot: Bot) -> int:
    """Send what the outbox holds, rendered by bot.notifications, as the sender would."""
    sent = 0
    async with deps.sessions() as session:
        ctx = Ctx(session=session, config=deps.config, clock=deps.clock)
        for row in await outbox.claim(ctx, limit=100):
            message = await render(session, deps, row)
            if message is not None and message.methods:
                for method in message.methods:  # client chats: the renderer built the requests
                    await bot(method)
                sent += 1
            elif message is not None:
                await bot.send_message(
                    message.chat_id, message.text, reply_markup=message.reply_markup
                )
                sent += 1
            await outbox.mark_sent(ctx, notification_id=row.id)
    return sent


async def stage_of(session: AsyncSession, code: str) -> PipelineStage:
    stage = await session.scalar(select(PipelineStage).where(PipelineStage.code == code))
    assert stage is not None
    return stage
