"""The write gate: writers of one process on one SQLite file queue in order, each woken the
moment the one before it commits or rolls back, on the app's engine and the inline one."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_bulk_engine, create_engine, session_factory
from core.drivers import sqlite_gate
from tests.waits import wait_until


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine, str]]:
    """The app's engine and the inline (inbox processor's) engine on one fresh file."""
    path = str(tmp_path / "gate.db")
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    url = f"sqlite+aiosqlite:///{path}"
    app_engine, inline = create_engine(url), create_bulk_engine(url)
    assert inline is not None
    yield app_engine, inline, path
    await app_engine.dispose()
    await inline.dispose()


def names(path: str) -> list[str]:
    with sqlite3.connect(path) as reader:
        return [name for (name,) in reader.execute("SELECT name FROM t ORDER BY id")]


async def waiters(lock: asyncio.Lock, count: int) -> None:
    """Until `count` writers wait for the gate (asyncio.Lock keeps its waiters in order)."""
    await wait_until(lambda: len(lock._waiters or ()) >= count, within=5)


async def test_writers_go_in_the_order_they_came_and_each_commits(
    engines: tuple[AsyncEngine, AsyncEngine, str],
) -> None:
    app_engine, inline, path = engines
    sessions, bulk = session_factory(app_engine), session_factory(inline)
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def writer(name: str, *, factory: object = sessions, hold: bool = False) -> None:
        async with factory() as session:  # type: ignore[operator]
            await session.execute(text("SELECT count(*) FROM t"))  # reads take no gate
            await session.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": name})
            if hold:
                first_in.set()
                await release.wait()
            await session.commit()

    gate = sqlite_gate.gate(path)  # tmp_path is absolute
    tasks = [asyncio.create_task(writer("a", hold=True))]
    await first_in.wait()
    assert gate.locked()
    for number, name in enumerate(["b", "c", "d"], start=1):
        factory = bulk if name == "c" else sessions  # the inline engine queues at BEGIN
        tasks.append(asyncio.create_task(writer(name, factory=factory)))
        await waiters(gate, number)
    release.set()
    await asyncio.gather(*tasks)
    assert names(path) == ["a", "b", "c", "d"]
    assert not gate.locked()


async def test_a_rollback_or_a_cancelled_writer_gives_the_gate_back(
    engines: tuple[AsyncEngine, AsyncEngine, str],
) -> None:
    app_engine, _inline, path = engines
    sessions = session_factory(app_engine)
    gate = sqlite_gate.gate(path)  # tmp_path is absolute
    async with sessions() as session:
        await session.execute(text("INSERT INTO t (name) VALUES ('rolled back')"))
        assert gate.locked()
        await session.rollback()
        assert not gate.locked()

    wrote = asyncio.Event()

    async def stuck() -> None:
        async with sessions() as session:
            await session.execute(text("INSERT INTO t (name) VALUES ('cancelled')"))
            wrote.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(stuck())
    await wrote.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with sessions() as session:  # not stuck behind the cancelled writer
        await asyncio.wait_for(
            session.execute(text("INSERT INTO t (name) VALUES ('next')")), timeout=5
        )
        await session.commit()
    assert names(path) == ["next"]


async def test_a_writer_waiting_for_itself_fails_as_sqlite_would(
    engines: tuple[AsyncEngine, AsyncEngine, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One task writing through two sessions would wait for itself: "database is locked" after
    the busy timeout, as before the gate, not a hang."""
    monkeypatch.setattr(sqlite_gate, "WAIT_SECONDS", 0.2)
    app_engine, _inline, path = engines
    sessions = session_factory(app_engine)
    async with sessions() as first, sessions() as second:
        await first.execute(text("INSERT INTO t (name) VALUES ('first')"))
        with pytest.raises(OperationalError, match="database is locked"):
            await second.execute(text("INSERT INTO t (name) VALUES ('second')"))
        await first.commit()
    assert names(path) == ["first"]
