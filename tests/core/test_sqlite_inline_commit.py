"""The inline SQLite driver's commit waits for the disk in a worker thread: the event loop
(webhooks being accepted beside the inbox processor) goes on during the fsync."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from core.db import create_bulk_engine
from core.drivers.sqlite_inline import InlineConnection


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


async def test_the_event_loop_goes_on_while_a_commit_waits_for_the_disk(tmp_path: Path) -> None:
    path = str(tmp_path / "slow.db")
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    engine = create_bulk_engine(f"sqlite+aiosqlite:///{path}")
    assert engine is not None
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
        await engine.dispose()
    with sqlite3.connect(path) as reader:
        assert reader.execute("SELECT name FROM t").fetchall() == [("kept",)]
