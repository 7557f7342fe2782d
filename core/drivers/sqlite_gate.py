"""One writer at a time per SQLite file in this process, queued in order instead of polling.

SQLite lets one connection write at a time. A connection that finds the lock taken waits in
SQLite's busy handler, which sleeps and looks again (1, 2, 5, 10 … up to 100 ms between
looks): the lock is often free long before the waiter wakes. With the bot handling eight
updates at once, the outbox sender recording and claiming, and the inbox processor, writers
of one process collided all the time, and each collision cost a sleep: a client message
took 0.7 s (p50) from Telegram to its relay on a quiet machine, nearly all of it asleep.

The gate is an `asyncio.Lock` per database file, shared by every engine of this process on
that file: a transaction takes it just before its first write (or at `BEGIN IMMEDIATE`, the
inline driver's) and gives it back when it commits or rolls back, or when its connection
goes back to the pool or is thrown away. Waiters are woken in order the moment it is free.
Readers never take it (WAL readers do not block the writer). Other processes (a CLI import
beside `perezvon run`) still meet SQLite's lock and its busy handler, as before.

A waiter gives up after `WAIT_SECONDS` (the engine's busy timeout) with the error SQLite
would have raised, "database is locked", so a transaction that waits for itself (one task
writing through two sessions) fails as it did, and is not stuck for ever.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

WAIT_SECONDS = 10.0
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_HELD = "perezvon_sqlite_gate"  # key in a pooled connection's info: it holds the gate

# One gate per (event loop, file): the tests run several loops in one process.
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def gate(database: str) -> asyncio.Lock:
    """The gate of the SQLite file `database` on the running event loop."""
    loop = asyncio.get_running_loop()
    per_loop = _gates.setdefault(loop, {})
    lock = per_loop.get(database)
    if lock is None:
        lock = per_loop[database] = asyncio.Lock()
    return lock


def locked_error(statement: str | None) -> exc.OperationalError:
    """What SQLAlchemy raises when SQLite answers SQLITE_BUSY, as the retry loops expect it."""
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = sqlite3.SQLITE_BUSY
    busy.sqlite_errorname = "SQLITE_BUSY"
    return exc.OperationalError(statement, None, busy)


async def _acquire(lock: asyncio.Lock, statement: str | None) -> None:
    try:
        await asyncio.wait_for(lock.acquire(), WAIT_SECONDS)
    except TimeoutError:
        raise locked_error(statement) from None


def take(info: dict[str, Any], database: str, statement: str | None = None) -> None:
    """Take the gate for the connection whose `info` this is (once per transaction); called
    from SQLAlchemy's synchronous events, which run inside its greenlet (`await_only`)."""
    if _HELD in info:
        return
    lock = gate(database)
    await_only(_acquire(lock, statement))
    info[_HELD] = lock


def give_back(info: dict[str, Any] | None) -> None:
    """Give the gate back if this connection holds it (any number of times)."""
    lock = None if info is None else info.pop(_HELD, None)
    if lock is not None and lock.locked():
        lock.release()


def _info(pooled: Any) -> dict[str, Any] | None:
    """A pooled connection's info; None for the ad-hoc one of the engine's first connect."""
    try:
        info: dict[str, Any] = pooled.info
    except NotImplementedError:
        return None
    return info


def is_write(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(_WRITES)


def install(engine: AsyncEngine, database: str, *, take_on_write: bool = True) -> None:
    """Make `engine`'s transactions on `database` give the gate back when they end, and take
    it before their first write (`take_on_write`; an engine that begins with BEGIN IMMEDIATE
    takes it itself, just before: core.drivers.sqlite_inline)."""
    sync_engine = engine.sync_engine

    if take_on_write:

        @event.listens_for(sync_engine, "before_cursor_execute")
        def _on_execute(
            connection: Connection,
            _cursor: Any,
            statement: str,
            _parameters: Any,
            _context: Any,
            _executemany: bool,
        ) -> None:
            if is_write(statement):
                take(connection.info, database, statement)

    # Given back after the commit or rollback has happened, not before (SQLAlchemy's "commit"
    # event comes first): a waiter woken earlier would only meet SQLite's lock and sleep.
    dialect = sync_engine.dialect
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def commit_then_give_back(dbapi_connection: Any) -> None:
        try:
            do_commit(dbapi_connection)
        finally:
            give_back(_info(dbapi_connection))

    def rollback_then_give_back(dbapi_connection: Any) -> None:
        try:
            do_rollback(dbapi_connection)
        finally:
            give_back(_info(dbapi_connection))

    dialect.do_commit = commit_then_give_back  # type: ignore[method-assign]
    dialect.do_rollback = rollback_then_give_back  # type: ignore[method-assign]

    @event.listens_for(sync_engine.pool, "checkin")
    @event.listens_for(sync_engine.pool, "invalidate")
    def _on_release(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        if record is not None:  # a connection thrown away or returned while holding it
            give_back(record.info)
