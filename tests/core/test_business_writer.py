"""core.conversations.business_writer: Business updates handled at once share one commit, and
one that fails fails alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import CoreConfig
from core.context import Actor, Ctx
from core.conversations import business
from core.conversations.business import ChatIn, MessageIn
from core.conversations.business_connections import ConnectionIn, record_connection
from core.conversations.business_writer import BusinessLogWriter
from core.conversations.models import ChatMessage
from core.users import service as users
from tests.fakes.clock import FakeClock

SELLER = 101


def said(message_id: int, chat: int) -> MessageIn:
    client = ChatIn(id=chat, first_name=f"Client {chat}")
    return MessageIn(
        message_id=message_id,
        chat=client,
        from_id=chat if message_id % 2 else SELLER,
        sent_at=datetime(2026, 12, 1, 10, 0, message_id % 60, tzinfo=UTC),
        text=f"message {message_id}",
    )


@pytest.fixture
async def writer(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> BusinessLogWriter:
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        await users.create_user(
            ctx, actor=Actor.system("test"), name="П", role="sales", telegram_user_id=SELLER
        )
        await record_connection(ctx, connection=ConnectionIn("bc", SELLER, SELLER, is_enabled=True))
    return BusinessLogWriter(sessions, config, clock, max_batch=50)


async def count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ChatMessage)) or 0)


async def test_updates_at_once_are_logged_in_few_commits_and_a_redelivery_once(
    writer: BusinessLogWriter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    commits = 0
    real = writer._flush

    async def counted(batch: list) -> None:  # type: ignore[type-arg]
        nonlocal commits
        commits += 1
        await real(batch)

    writer._flush = counted  # type: ignore[method-assign]
    messages = [said(n, 9000 + n % 7) for n in range(1, 121)]
    messages.append(said(5, 9000 + 5 % 7))  # the same message again, in the same burst

    outcomes = await asyncio.gather(
        *(writer.apply(lambda c, m=m: business.message_unit(c, "bc", m)) for m in messages)
    )

    assert outcomes.count("logged") == 120 and outcomes.count("duplicate") == 1
    assert await count(sessions) == 120
    assert commits <= 4  # 121 updates: the first alone, then batches of up to 50


async def test_a_message_logged_by_an_earlier_batch_comes_again_among_new_ones(
    writer: BusinessLogWriter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A batch adds its messages without asking whether they are logged: the repeat makes
    its commit fail, and the batch is applied again one by one, asking (step 3)."""
    assert await writer.apply(lambda c: business.message_unit(c, "bc", said(1, 9300))) == "logged"
    again = [said(1, 9300), *(said(n, 9300 + n % 3) for n in range(2, 12))]

    outcomes = await asyncio.gather(
        *(writer.apply(lambda c, m=m: business.message_unit(c, "bc", m)) for m in again)
    )

    assert outcomes == ["duplicate"] + ["logged"] * 10
    assert await count(sessions) == 11


async def test_a_failing_update_fails_alone_and_the_rest_of_its_batch_is_logged(
    writer: BusinessLogWriter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async def broken(ctx: Ctx) -> str:
        await business.message_unit(ctx, "bc", said(999, 9100))
        raise ValueError("a bug in one update")

    units = [lambda c, n=n: business.message_unit(c, "bc", said(n, 9200)) for n in range(1, 6)]
    results = await asyncio.gather(
        *(writer.apply(unit) for unit in [units[0], broken, *units[1:]]),
        return_exceptions=True,
    )

    assert [type(r).__name__ for r in results] == ["str", "ValueError", "str", "str", "str", "str"]
    assert await count(sessions) == 5
