"""SQLite on the event loop's own thread, for short statements in bulk (the inbox processor).

aiosqlite runs every call in a worker thread, and SQLAlchemy's adapter makes four calls per
statement (cursor, execute, fetch, close). Each is a hand-off between threads; on a small
virtual machine a hand-off costs 0.1–0.2 ms, so a statement that SQLite runs in 5 µs takes
0.5–0.9 ms, and a processor batch spends most of its time waiting for wake-ups.

`InlineConnection` offers the part of aiosqlite's interface that SQLAlchemy's `aiosqlite`
dialect uses, over a stdlib `sqlite3` connection, running each call where it is awaited —
except the commit, which waits for the disk (an fsync, milliseconds) and so runs in a
worker thread while the event loop goes on.
It never sleeps in SQLite's busy handler (that would freeze the event loop, and with it the
transaction holding the lock): the connection has `busy_timeout=0`, and a statement that
finds the database locked is retried after an `asyncio.sleep`, so other tasks run meanwhile.
Transactions begin with `BEGIN IMMEDIATE`, which takes the write lock up front: a
transaction that has started never meets a lock again (WAL readers never block it). Before
it, a transaction takes this process' write gate for the file (core/drivers/sqlite_gate.py),
so it queues behind the app's other writers instead of polling for the lock.

Meant for work made of many short, indexed statements. A long scan would hold up the event
loop for its duration, so request handling keeps the thread-based aiosqlite engine.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core.drivers import sqlite_gate

T = TypeVar("T")
LOCK_WAIT_SECONDS = 10.0  # as long as the thread-based engine's busy_timeout
_FIRST_RETRY_SECONDS = 0.001
_LONGEST_RETRY_SECONDS = 0.05


def _locked(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY proper: someone else holds the lock, trying again can succeed.

    Not SQLITE_BUSY_SNAPSHOT (517): a read transaction whose snapshot is stale cannot
    become a write transaction by waiting."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


async def _when_unlocked(
    call: Callable[[], T], wait: float | None = None, *, in_thread: bool = False
) -> T:
    """Run `call`; while the database is locked, wait (at most `wait` seconds, by default
    LOCK_WAIT_SECONDS) without blocking the event loop. `in_thread`: each try runs in a
    worker thread (a call that blocks: the commit's fsync)."""
    deadline: float | None = None
    delay = _FIRST_RETRY_SECONDS
    while True:
        try:
            return await asyncio.to_thread(call) if in_thread else call()
        except sqlite3.OperationalError as exc:
            if not _locked(exc):
                raise
            if deadline is None:
                deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait is None else wait)
            elif time.monotonic() >= deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, _LONGEST_RETRY_SECONDS)


when_unlocked = _when_unlocked  # for core.drivers.phone_lookup's read-only connection


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        cursor = self._cursor
        if parameters is None:
            await _when_unlocked(lambda: cursor.execute(sql))
        else:
            await _when_unlocked(lambda: cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        rows = list(parameters)  # a retry must see them again
        await _when_unlocked(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        if size is None:
            return self._cursor.fetchmany()
        return self._cursor.fetchmany(size)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _RunNow:
    """Stands in for aiosqlite's queue to its thread (SQLAlchemy sets isolation levels so)."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class InlineConnection:
    """The aiosqlite.Connection interface SQLAlchemy uses, over sqlite3, without a thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._tx = _RunNow()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        return await InlineCursor(self._conn.cursor()).execute(sql, parameters)

    async def commit(self) -> None:
        # The one call that waits for the disk (the WAL's fsync, 3–9 ms here with
        # synchronous=FULL): in a thread, so the event loop serves requests meanwhile.
        await _when_unlocked(self._conn.commit, in_thread=True)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()


def create_inline_engine(
    database: str,
    *,
    pragmas: Callable[[Any, Any], None],
    echo: bool = False,
    read_only: bool = False,
) -> AsyncEngine:
    """An async engine on `InlineConnection`s to the SQLite file `database`.

    `read_only`: for reads that must not wait (the screen pop's card): `query_only`
    connections whose transactions begin deferred (a WAL snapshot at the first read) and
    take neither the write lock nor this process' write gate, so they never queue behind a
    writer. A write through it fails ("attempt to write a readonly database")."""

    async def connect() -> InlineConnection:
        # isolation_level=None: the module never opens transactions itself; the "begin"
        # listener below opens every one with BEGIN IMMEDIATE.
        raw = sqlite3.connect(database, timeout=0, isolation_level=None, check_same_thread=False)
        return InlineConnection(raw)

    engine = create_async_engine(
        f"sqlite+aiosqlite:///{database}", echo=echo, async_creator=connect
    )

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        pragmas(dbapi_connection, record)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=0")  # waits happen in _when_unlocked instead
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    event.listen(engine.sync_engine, "connect", on_connect)
    if read_only:
        event.listen(engine.sync_engine, "begin", lambda c: c.exec_driver_sql("BEGIN"))
        return engine
    gated = os.path.abspath(database)

    def begin_immediate(connection: Connection) -> None:
        sqlite_gate.take(connection.info, gated)  # this process' writers queue in order
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine.sync_engine, "begin", begin_immediate)
    sqlite_gate.install(engine, gated, take_on_write=False)
    return engine
