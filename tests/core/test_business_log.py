"""core.conversations.business: who sees the logged chats, the client matched by Telegram id,
a new chat's two first messages at once, and a chat only its salesperson may exclude."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import CoreConfig
from core.contacts import service as contacts
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.conversations import business, business_chats
from core.conversations.business import ChatIn, MessageIn
from core.conversations.business_connections import ConnectionIn, record_connection
from core.conversations.models import ChatMessage, Conversation
from core.errors import NotFound
from core.users import service as users
from core.users.models import User
from tests.fakes.clock import FakeClock

SELLER_TG, COLLEAGUE_TG, MANAGER_TG = 101, 102, 103
CLIENT = ChatIn(id=9001, first_name="Анна")


def said(message_id: int, text: str, *, by: int = CLIENT.id) -> MessageIn:
    return MessageIn(
        message_id=message_id,
        chat=CLIENT,
        from_id=by,
        sent_at=datetime(2026, 12, 1, 10, message_id % 60, tzinfo=UTC),
        text=text,
    )


async def _team(ctx: Ctx, system: Actor) -> tuple[User, User, User]:
    seller = await users.create_user(
        ctx, actor=system, name="Продавец", role="sales", telegram_user_id=SELLER_TG
    )
    colleague = await users.create_user(
        ctx, actor=system, name="Коллега", role="sales", telegram_user_id=COLLEAGUE_TG
    )
    manager = await users.create_user(
        ctx, actor=system, name="Руководитель", role="manager", telegram_user_id=MANAGER_TG
    )
    await record_connection(
        ctx, connection=ConnectionIn("bc-1", SELLER_TG, SELLER_TG, is_enabled=True)
    )
    return seller, colleague, manager


async def test_the_log_is_seen_as_calls_are_by_the_salesperson_and_those_who_see_the_client(
    ctx: Ctx, system: Actor
) -> None:
    seller, colleague, manager = await _team(ctx, system)
    assert await business.log_message(ctx, connection_id="bc-1", message=said(1, "hi")) == "logged"
    contact = await ctx.session.scalar(select(Contact))
    assert contact is not None and contact.owner_id == seller.id

    async def texts(person: User, context: Ctx = ctx) -> list[str | None]:
        log = await business_chats.chat_log(
            context, actor=Actor.of_user(person), contact_id=contact.id
        )
        return [m.text for m in log]

    assert await texts(seller) == ["hi"]
    assert await texts(manager) == ["hi"]
    assert await texts(colleague) == []  # VISIBILITY=own: the seller's client is hidden
    everyone = replace(ctx, config=replace(ctx.config, visibility="all"))
    assert await texts(colleague, everyone) == ["hi"]


async def test_a_known_client_is_matched_by_telegram_id_and_the_chat_stays_the_sellers(
    ctx: Ctx, system: Actor
) -> None:
    seller, colleague, _ = await _team(ctx, system)
    theirs = await contacts.create_contact(
        ctx, actor=Actor.of_user(colleague), name="Анна Петровна", phones=["+79161234567"]
    )
    theirs.telegram_user_id = CLIENT.id
    await ctx.session.commit()

    await business.log_message(ctx, connection_id="bc-1", message=said(1, "hello"))
    await business.log_message(ctx, connection_id="bc-1", message=said(2, "answer", by=SELLER_TG))

    assert await ctx.session.scalar(select(func.count()).select_from(Contact)) == 1
    [conversation] = list(await ctx.session.scalars(select(Conversation)))
    assert (conversation.contact_id, conversation.user_id) == (theirs.id, seller.id)
    # The seller sees their own chat with a client they may not see otherwise (as for calls).
    log = await business_chats.chat_log(ctx, actor=Actor.of_user(seller), contact_id=theirs.id)
    assert [(m.direction, m.text) for m in log] == [("out", "answer"), ("in", "hello")]


async def test_two_first_messages_of_a_new_chat_at_once_make_one_contact_and_one_chat(
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    system: Actor,
) -> None:
    async with sessions() as session:
        await _team(Ctx(session=session, config=config, clock=clock), system)

    async def log(message: MessageIn) -> str:
        async with sessions() as session:
            context = Ctx(session=session, config=config, clock=clock)
            return await business.log_message(context, connection_id="bc-1", message=message)

    outcomes = await asyncio.gather(*(log(said(n, f"part {n}")) for n in range(1, 5)))

    assert outcomes == ["logged"] * 4
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 1
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 1
        assert await session.scalar(select(func.count()).select_from(ChatMessage)) == 4


async def test_only_the_salesperson_excludes_their_chat_and_its_log_is_deleted(
    ctx: Ctx, system: Actor
) -> None:
    seller, colleague, manager = await _team(ctx, system)
    await business.log_message(ctx, connection_id="bc-1", message=said(1, "private"))
    conversation = await ctx.session.scalar(select(Conversation))
    assert conversation is not None

    for someone in (colleague, manager):
        with pytest.raises(NotFound):
            await business_chats.set_excluded(
                ctx, actor=Actor.of_user(someone), conversation_id=conversation.id, excluded=True
            )
    await business_chats.set_excluded(
        ctx, actor=Actor.of_user(seller), conversation_id=conversation.id, excluded=True
    )

    assert await ctx.session.scalar(select(func.count()).select_from(ChatMessage)) == 0
    assert await business.log_message(ctx, connection_id="bc-1", message=said(2, "x")) == "ignored"
    assert await business.log_edit(ctx, connection_id="bc-1", message=said(1, "y")) == "ignored"
    assert await business.log_deletion(ctx, connection_id="bc-1", chat=CLIENT, message_ids=[1]) == 0


async def test_updates_of_a_connection_never_recorded_keep_nothing(ctx: Ctx, system: Actor) -> None:
    await _team(ctx, system)
    outcome = await business.log_message(ctx, connection_id="bc-unknown", message=said(1, "x"))
    edit = await business.log_edit(ctx, connection_id="bc-unknown", message=said(1, "y"))
    deleted = await business.log_deletion(
        ctx, connection_id="bc-unknown", chat=CLIENT, message_ids=[1]
    )

    assert (outcome, edit, deleted) == ("unknown_connection", "unknown_connection", 0)
    assert await ctx.session.scalar(select(func.count()).select_from(ChatMessage)) == 0
