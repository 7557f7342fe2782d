"""The inline SQLite driver of the inbox processor: same results, lock waits and commits that
yield to the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_bulk_engine, create_read_engine, session_factory, sqlite_file
from core.drivers import sqlite_inline
from core.drivers.sqlite_inline import InlineConnection


@pytest.fixture
async def inline(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, str]]:
    path = str(tmp_path / "inline.db")
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
    engine = create_bulk_engine(f"sqlite+aiosqlite:///{path}")
    assert engine is not None
    yield engine, path
    await engine.dispose()


def names(path: str) -> list[str]:
    with sqlite3.connect(path) as reader:
        return [name for (name,) in reader.execute("SELECT name FROM t ORDER BY id")]


async def test_commit_rollback_and_reads_behave_as_on_aiosqlite(
    inline: tuple[AsyncEngine, str],
) -> None:
    engine, path = inline
    async with session_factory(engine)() as session:
        await session.execute(text("INSERT INTO t (name) VALUES ('kept')"))
        await session.commit()
        await session.execute(text("INSERT INTO t (name) VALUES ('dropped')"))
        await session.rollback()
        rows = await session.execute(text("SELECT name FROM t"))
        assert rows.scalars().all() == ["kept"]
    assert names(path) == ["kept"]


async def test_transactions_take_the_write_lock_when_they_begin(
    inline: tuple[AsyncEngine, str],
) -> None:
    engine, path = inline
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))  # opens the transaction: BEGIN IMMEDIATE
        other = sqlite3.connect(path, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        await connection.rollback()


async def test_a_locked_database_is_waited_for_without_blocking_the_event_loop(
    inline: tuple[AsyncEngine, str],
) -> None:
    engine, path = inline
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t (name) VALUES ('first')")
    ticks = 0
    ran_on = asyncio.Event()  # the loop ticked ten times since the write began

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            if ticks >= 10:
                ran_on.set()
            await asyncio.sleep(0.005)

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('second')"))

    writing = asyncio.create_task(write())
    ticking = asyncio.create_task(ticker())
    await ran_on.wait()  # a condition, not a fixed wait: the loop runs on …
    assert not writing.done()  # … while the write waits for the lock
    holder.execute("COMMIT")
    await writing
    ticking.cancel()
    holder.close()
    assert names(path) == ["first", "second"]


async def test_a_lock_held_past_the_wait_limit_is_an_error(
    inline: tuple[AsyncEngine, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, path = inline
    monkeypatch.setattr(sqlite_inline, "LOCK_WAIT_SECONDS", 0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t (name) VALUES ('late')"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert names(path) == []


async def test_other_errors_are_raised_at_once(inline: tuple[AsyncEngine, str]) -> None:
    engine, _path = inline
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('x')"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('x')"))
    with pytest.raises(OperationalError, match="no such table"):
        async with engine.begin() as connection:
            await connection.execute(text("SELECT * FROM missing"))


async def test_executemany_inserts_every_row(inline: tuple[AsyncEngine, str]) -> None:
    engine, path = inline
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": f"n{i}"} for i in range(50)]
        )
    assert names(path) == [f"n{i}" for i in range(50)]


async def test_the_read_engine_reads_while_a_writer_holds_the_lock_and_never_writes(
    inline: tuple[AsyncEngine, str],
) -> None:
    """core.db.create_read_engine (the outbox's call messages): its transactions begin
    deferred, so a read goes at once while a writer of this process holds the write gate
    and the lock (the bulk engine's BEGIN IMMEDIATE would queue behind it), and it refuses
    to write."""
    engine, path = inline
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('committed')"))
    reader = create_read_engine(f"sqlite+aiosqlite:///{path}")
    assert reader is not None
    try:
        async with engine.connect() as writer:
            await writer.execute(text("INSERT INTO t (name) VALUES ('in flight')"))
            async with asyncio.timeout(1.0), session_factory(reader)() as session:
                rows = await session.execute(text("SELECT name FROM t ORDER BY id"))
                assert rows.scalars().all() == ["committed"]  # its snapshot: no dirty read
            await writer.commit()
        async with session_factory(reader)() as session:
            with pytest.raises(OperationalError, match="readonly"):
                await session.execute(text("INSERT INTO t (name) VALUES ('refused')"))
    finally:
        await reader.dispose()
    assert names(path) == ["committed", "in flight"]


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite+aiosqlite:////var/lib/perezvon/perezvon.db", "/var/lib/perezvon/perezvon.db"),
        ("sqlite+aiosqlite:///perezvon.db", "perezvon.db"),
        ("sqlite+aiosqlite:///:memory:", None),
        ("sqlite+aiosqlite://", None),
        ("sqlite+aiosqlite:///file:x.db?mode=ro&uri=true", None),
        ("postgresql+asyncpg://postgres@127.0.0.1/test", None),
    ],
)
def test_only_a_plain_sqlite_file_gets_the_bulk_engine(url: str, path: str | None) -> None:
    assert sqlite_file(url) == path
    if path is None:
        assert create_bulk_engine(url) is None
        assert create_read_engine(url) is None


async def test_a_wait_can_be_bounded_per_call(tmp_path: Path) -> None:
    """The phone look-up waits for a lock no longer than the PBX waits for its answer."""
    path = str(tmp_path / "bounded.db")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await sqlite_inline.when_unlocked(lambda: waiter.execute("BEGIN IMMEDIATE"), 0.2)
        waited = asyncio.get_running_loop().time() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        waiter.close()
    assert 0.15 <= waited < 1.0  # the default would have been LOCK_WAIT_SECONDS (10 s)


class SlowDisk:
    """A sqlite3 connection whose commit takes `seconds` (a slow fsync) and says where it ran."""

    def __init__(self, connection: sqlite3.Connection, seconds: float) -> None:
        self._connection = connection
        self._seconds = seconds
        self.committed_on: list[threading.Thread] = []

    def commit(self) -> None:
        self.committed_on.append(threading.current_thread())
        time.sleep(self._seconds)
        self._connection.commit()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


async def test_the_event_loop_goes_on_while_a_commit_waits_for_the_disk(
    inline: tuple[AsyncEngine, str],
) -> None:
    """The commit waits for the disk (the WAL's fsync) in a worker thread: webhooks are
    accepted beside the inbox processor meanwhile."""
    engine, path = inline
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            inline = raw.driver_connection
            assert isinstance(inline, InlineConnection)
            slow = SlowDisk(inline._conn, 0.3)
            inline._conn = slow  # type: ignore[assignment]
            await connection.execute(text("INSERT INTO t (name) VALUES ('kept')"))
            before = ticks
            await connection.commit()
            assert ticks - before >= 5  # ~30 ticks of 10 ms fit in a 0.3 s commit
            assert slow.committed_on and slow.committed_on[0] is not threading.main_thread()
            inline._conn = slow._connection
    finally:
        ticking.cancel()
    assert names(path) == ["kept"]
