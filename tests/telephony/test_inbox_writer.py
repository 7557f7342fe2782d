"""The inbox writer: group commit, duplicates, a bad row among good ones, stop and restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import asyncpg_connect_args, create_engine, session_factory
from core.models import TelephonyEvent
from telephony_webhooks.inbox import InboxRow, InboxUnavailable, InboxWriter
from tests.conftest import PG_URL
from tests.ports import free_port

AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def row(key: str, *, provider: str = "generic") -> InboxRow:
    return InboxRow(
        provider=provider,
        dedupe_key=key,
        call_key="c-" + key,
        event_type="ringing",
        body=b'{"event": "ringing"}',
        content_type="application/json",
        headers={"user-agent": "pbx"},
        remote_addr="127.0.0.1",
        received_at=AT,
    )


async def keys(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(TelephonyEvent.dedupe_key).order_by("id")))


@pytest.fixture
async def writer(sessions: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    inbox = InboxWriter(sessions)
    await inbox.start()
    yield inbox
    await inbox.stop()


async def test_concurrent_requests_share_commits_and_every_row_lands(
    writer: InboxWriter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await asyncio.gather(*(writer.store(row(f"k{i}")) for i in range(300)))
    assert sorted(await keys(sessions)) == sorted(f"k{i}" for i in range(300))
    assert writer.rows == 300 and writer.commits < 300
    assert writer.idle.is_set() and writer.stored.is_set()


async def test_a_stored_row_reads_back_as_it_was_given(
    writer: InboxWriter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await writer.store(row("whole"))
    async with sessions() as session:
        stored = await session.scalar(select(TelephonyEvent))
    assert stored is not None
    assert (stored.provider, stored.call_key, stored.event_type) == (
        "generic",
        "c-whole",
        "ringing",
    )
    assert stored.body == b'{"event": "ringing"}' and stored.headers == {"user-agent": "pbx"}
    assert stored.received_at == AT and stored.processed_at is None and stored.attempts == 0


async def test_a_duplicate_in_the_same_batch_is_stored_once_and_both_succeed(
    writer: InboxWriter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await asyncio.gather(writer.store(row("same")), writer.store(row("same")))
    await writer.store(row("same"))
    assert await keys(sessions) == ["same"]


async def test_a_row_the_database_refuses_fails_alone(
    writer: InboxWriter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    bad = row("bad", provider=None)  # type: ignore[arg-type]  # NOT NULL violation
    results = await asyncio.gather(
        writer.store(row("a")), writer.store(bad), writer.store(row("b")), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], InboxUnavailable)
    assert sorted(await keys(sessions)) == ["a", "b"]


async def test_a_stopped_writer_refuses_and_a_restarted_one_stores(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    inbox = InboxWriter(sessions)
    with pytest.raises(InboxUnavailable):
        await inbox.store(row("early"))
    await inbox.start()
    await inbox.store(row("one"))
    await inbox.stop()
    with pytest.raises(InboxUnavailable):
        await inbox.store(row("stopped"))
    await inbox.start()
    await inbox.store(row("two"))
    await inbox.stop()
    assert await keys(sessions) == ["one", "two"]


async def test_a_batch_longer_than_one_statement_lands_whole_and_dedupes_across_statements(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The rows go in as multi-row INSERTs (SQLite: 50 rows, PostgreSQL: 100): a batch of
    several statements lands in one transaction, and a duplicate in a later statement of
    the same batch is dropped as a duplicate in the same statement is."""
    inbox = InboxWriter(sessions)
    own = inbox._thread or inbox._postgres
    assert own is not None  # a SQLite file or PostgreSQL: the inbox's own connection
    step = own.ROWS_PER_STATEMENT
    rows = [row(f"k{i}") for i in range(2 * step + 7)] + [row("k3"), row(f"k{step + 1}")]
    await own.write([r.driver_params(sqlite=inbox._thread is not None) for r in rows])
    await own.close()
    assert sorted(await keys(sessions)) == sorted(f"k{i}" for i in range(2 * step + 7))


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL: the inbox's own asyncpg connection")
async def test_a_lost_database_connection_is_made_again_and_the_request_still_lands(
    writer: InboxWriter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await writer.store(row("before"))
    connection = writer._postgres._connection  # type: ignore[union-attr]
    async with sessions() as session:  # as a restart of the server or a failover would
        await session.execute(
            text("SELECT pg_terminate_backend(:pid)"), {"pid": connection.get_server_pid()}
        )
    await writer.store(row("after"))
    assert await keys(sessions) == ["before", "after"]
    assert writer._postgres._connection is not connection  # type: ignore[union-attr]


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL: the URL's connection options")
async def test_the_urls_connection_options_reach_the_inbox_connection(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """`?ssl=…` is an asyncpg option, `prepared_statement_cache_size` SQLAlchemy's: in a DSN
    both would go to the server as settings, which it refuses, and no webhook would land."""
    assert PG_URL is not None
    engine = create_engine(PG_URL + "?ssl=disable&prepared_statement_cache_size=0")
    inbox = InboxWriter(session_factory(engine))
    await inbox.start()
    try:
        await inbox.store(row("with options"))
    finally:
        await inbox.stop()
        await engine.dispose()
    assert await keys(sessions) == ["with options"]


async def test_an_unreachable_database_answers_every_waiting_request_at_once() -> None:
    """The inbox's connection cannot be made: the batch's requests get InboxUnavailable (a
    503 the PBX retries) together, not one connect timeout each."""
    engine = create_engine(f"postgresql+asyncpg://perezvon@127.0.0.1:{free_port()}/none")
    inbox = InboxWriter(session_factory(engine))
    await inbox.start()
    started = asyncio.get_running_loop().time()
    try:
        results = await asyncio.gather(
            *(inbox.store(row(f"lost{i}")) for i in range(20)), return_exceptions=True
        )
    finally:
        await inbox.stop()
        await engine.dispose()
    assert all(isinstance(r, InboxUnavailable) for r in results)
    assert asyncio.get_running_loop().time() - started < 5.0


def test_asyncpg_gets_the_urls_options_as_arguments() -> None:
    url = "postgresql+asyncpg://u:p%40ss@db.example:6432/crm?ssl=require&prepared_statement_cache_size=0"
    args = asyncpg_connect_args(url)
    assert args == {
        "host": "db.example",
        "port": 6432,
        "user": "u",
        "password": "p@ss",
        "database": "crm",
        "ssl": "require",
    }
    assert asyncpg_connect_args("sqlite+aiosqlite:///x.db") is None
