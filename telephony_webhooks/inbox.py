"""The telephony inbox writer: durable before 200, with group commit.

Each webhook request hands its row to `InboxWriter.store` and waits. A single background
task takes every row that is waiting, writes them in one transaction (one fsync) with
`ON CONFLICT DO NOTHING` on the dedupe key, then releases all the waiting requests. Under
load many requests share one commit; alone, a request waits only for its own commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.calls.models import TelephonyEvent
from core.db import asyncpg_connect_args, sqlite_file, sqlite_pragmas
from telephony_webhooks.loop_task import LoopTask

log = logging.getLogger(__name__)
MAX_BATCH = 500
# A commit this big, or this many requests queued, means requests arrive faster than one
# commit's time apart: a burst, which lasts while such commits keep coming. (At 200 events/s
# commits hold one row.)
BURST_ROWS = 16
BURST_MEMORY_SECONDS = 0.2
INBOX_COLUMNS = (
    "provider",
    "dedupe_key",
    "call_key",
    "event_type",
    "body",
    "content_type",
    "headers",
    "remote_addr",
    "received_at",
    "attempts",
)


def insert_sql(paramstyle: str, rows: int = 1) -> str:
    """INSERT … ON CONFLICT (dedupe_key) DO NOTHING in the driver's parameter style, for
    `rows` rows in one statement."""
    width = len(INBOX_COLUMNS)
    if paramstyle == "qmark":
        one = "(" + ", ".join("?" for _ in INBOX_COLUMNS) + ")"
        marks = ", ".join(one for _ in range(rows))
    elif paramstyle == "numeric_dollar":
        marks = ", ".join(
            "(" + ", ".join(f"${row * width + i}" for i in range(1, width + 1)) + ")"
            for row in range(rows)
        )
    else:
        raise ValueError(f"unsupported driver parameter style {paramstyle!r}")
    return (
        f"INSERT INTO {TelephonyEvent.__tablename__} ({', '.join(INBOX_COLUMNS)}) VALUES {marks} "
        "ON CONFLICT (dedupe_key) DO NOTHING"
    )


@dataclass
class InboxRow:
    provider: str
    dedupe_key: str
    call_key: str | None
    event_type: str | None
    body: bytes
    content_type: str | None
    headers: dict[str, Any]
    remote_addr: str | None
    received_at: datetime

    def driver_params(self, *, sqlite: bool) -> tuple[Any, ...]:
        """The row as the driver takes it, in INBOX_COLUMNS order, clipped to the columns."""
        received = self.received_at.astimezone(UTC)
        return (
            self.provider,
            self.dedupe_key[:255],
            (self.call_key or None) and self.call_key[:128],
            (self.event_type or None) and self.event_type[:64],
            self.body,
            (self.content_type or None) and self.content_type[:255],
            json.dumps(self.headers, ensure_ascii=False),
            self.remote_addr,
            # What the UTCDateTime column type stores: naive UTC text on SQLite, aware on PG.
            received.replace(tzinfo=None).isoformat(" ", timespec="microseconds")
            if sqlite
            else received,
            0,
        )


class SqliteInboxThread:
    """The inbox's own SQLite connection, used by one worker thread: a batch is one hand-off.

    Through the async engine a batch costs half a dozen thread round trips (checkout, cursor,
    executemany, commit, reset on return), each waiting its turn in a busy event loop; here
    the thread runs BEGIN IMMEDIATE … COMMIT in one go and the loop hears back once.

    The rows go in as multi-row INSERTs of up to ROWS_PER_STATEMENT rows, not executemany:
    the sqlite3 module lets go of the GIL for each row's step and must win it back from the
    busy event loop before the next row, so under load a batch of 16 rows took ~1.3 ms of
    waiting for ~0.3 ms of work, and requests waited on it.
    """

    ROWS_PER_STATEMENT = 50  # 500 parameters: under SQLite's old 999-parameter limit too

    def __init__(self, path: str) -> None:
        self._path = path
        self._sql = {n: insert_sql("qmark", n) for n in range(1, self.ROWS_PER_STATEMENT + 1)}
        self._executor: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None

    async def write(self, params: list[tuple[Any, ...]]) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-sqlite")
        await asyncio.get_running_loop().run_in_executor(self._executor, self._write, params)

    async def close(self) -> None:
        """Close the connection once a write still in flight is done (it is queued behind it)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(executor, self._close)
            executor.shutdown(wait=False)

    def _write(self, params: list[tuple[Any, ...]]) -> None:
        connection = self._connection
        if connection is None:
            connection = sqlite3.connect(
                self._path, timeout=10, isolation_level=None, check_same_thread=False
            )
            sqlite_pragmas(connection)
            self._connection = connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            step = self.ROWS_PER_STATEMENT
            for start in range(0, len(params), step):
                chunk = params[start : start + step]
                values = [value for row in chunk for value in row]
                connection.execute(self._sql[len(chunk)], values)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class PostgresInboxConnection:
    """The inbox's own asyncpg connection: a batch is one multi-row INSERT in autocommit.

    A single statement is atomic, so a batch of up to ROWS_PER_STATEMENT rows is one round
    trip; through the async engine it was BEGIN, a pipelined executemany, COMMIT and the
    pool's reset, each through SQLAlchemy's greenlet bridge (14 % of the event loop's time
    under the Zadarma mix). A broken connection is dropped and made again on the next batch.
    """

    ROWS_PER_STATEMENT = 100  # 1,000 parameters; PostgreSQL takes up to 65,535
    CONNECT_SECONDS = 5.0
    STATEMENT_SECONDS = 10.0  # a batch takes milliseconds; a half-open connection, forever

    def __init__(self, connect_args: dict[str, Any]) -> None:
        self._connect_args = {
            "timeout": self.CONNECT_SECONDS,
            "command_timeout": self.STATEMENT_SECONDS,
            **connect_args,  # core.db.asyncpg_connect_args: the URL's own options win
        }
        rows = range(1, self.ROWS_PER_STATEMENT + 1)
        self._sql = {n: insert_sql("numeric_dollar", n) for n in rows}
        self._connection: Any = None

    async def write(self, params: list[tuple[Any, ...]]) -> None:
        """Insert the rows; InboxConnectionLost when the database cannot be reached."""
        import asyncpg  # type: ignore[import-untyped]

        step = self.ROWS_PER_STATEMENT
        chunks = [params[start : start + step] for start in range(0, len(params), step)]
        try:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(**self._connect_args)
            connection = self._connection
            if len(chunks) == 1:
                await self._insert(connection, chunks[0])
            else:
                async with connection.transaction():
                    for chunk in chunks:
                        await self._insert(connection, chunk)
        except (
            OSError,
            TimeoutError,
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
        ) as exc:
            await self.close()
            raise InboxConnectionLost(f"{type(exc).__name__}: {exc}") from exc

    async def _insert(self, connection: Any, rows: list[tuple[Any, ...]]) -> None:
        await connection.execute(self._sql[len(rows)], *[value for row in rows for value in row])

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await connection.close(timeout=self.CONNECT_SECONDS)
            except Exception:  # a dead or half-open connection: drop it without goodbye
                connection.terminate()


class InboxConnectionLost(Exception):
    """The database could not be reached: every row of the batch would fail the same way."""


class InboxUnavailable(Exception):
    """The row could not be stored; the provider must be told to retry (503)."""


class InboxWriter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._queue: asyncio.Queue[tuple[InboxRow, asyncio.Future[None]]] = asyncio.Queue()
        self._worker = LoopTask(self._run, "inbox-writer")
        self._writing: list[tuple[InboxRow, asyncio.Future[None]]] = []
        self.stored = asyncio.Event()  # set after each commit: wakes the processor
        # SQLite has one writer: in this process the inbox and the processor take turns
        # through this lock instead of sleeping in SQLite's busy handler.
        self.write_lock = asyncio.Lock()
        self.idle = asyncio.Event()  # set while no request waits for its row to be stored
        self.idle.set()
        engine = self._sessions.kw["bind"]
        self._single_writer = engine.dialect.name == "sqlite"
        self._sql = insert_sql(engine.dialect.paramstyle)
        path = sqlite_file(engine.url)
        self._thread = SqliteInboxThread(path) if path else None
        connect_args = asyncpg_connect_args(engine.url)
        self._postgres = PostgresInboxConnection(connect_args) if connect_args else None
        self.commits = 0
        self.rows = 0
        self.burst_seen_at = float("-inf")  # loop time of the last commit of a burst's size

    async def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()
        # Requests whose batch was cut short get a 503: the PBX retries, the dedupe key
        # makes a row that did get committed count once.
        waiting = self._writing + [self._queue.get_nowait() for _ in range(self._queue.qsize())]
        self._writing = []
        for _row, future in waiting:
            _settle(future, InboxUnavailable("server is shutting down"))
        if self._thread is not None:
            await self._thread.close()
        if self._postgres is not None:
            await self._postgres.close()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold the database's single writer slot (SQLite); a no-op on PostgreSQL."""
        if not self._single_writer:
            yield
            return
        async with self.write_lock:
            yield

    def in_burst(self) -> bool:
        """Requests are arriving faster than they are committed one by one (see BURST_ROWS)."""
        if self._queue.qsize() >= BURST_ROWS:
            return True
        return asyncio.get_running_loop().time() - self.burst_seen_at < BURST_MEMORY_SECONDS

    async def store(self, row: InboxRow) -> None:
        """Return once the row is committed (or was already there); raise InboxUnavailable."""
        if not self._worker.running:
            raise InboxUnavailable("inbox writer is not running")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.idle.clear()
        await self._queue.put((row, future))
        await future

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._writing = batch
            await self._write(batch)
            self._writing = []
            if self._queue.empty():
                self.idle.set()

    async def _write(self, batch: list[tuple[InboxRow, asyncio.Future[None]]]) -> None:
        try:
            await self._insert([row for row, _ in batch])
        except Exception:
            if self._worker.stopping:  # the cancel broke the insert (and its rollback): stop here
                raise asyncio.CancelledError from None
            log.exception("inbox batch of %d failed; storing one by one", len(batch))
            for index, (row, future) in enumerate(batch):
                try:
                    await self._insert([row])
                except InboxConnectionLost as exc:
                    # Made again and lost again: the database is unreachable. The rest would
                    # each wait out a connect timeout; the PBX retries them after a 503.
                    log.error("inbox: the database is unreachable (%s)", exc)
                    for _row, waiting in batch[index:]:
                        _settle(waiting, InboxUnavailable("the database is unreachable"))
                    return
                except Exception as exc:
                    log.exception("inbox row %s could not be stored", row.dedupe_key)
                    _settle(future, InboxUnavailable(type(exc).__name__))
                else:
                    _settle(future, None)
            return
        for _row, future in batch:
            _settle(future, None)

    async def _insert(self, rows: list[InboxRow]) -> None:
        # The hot path of every webhook: a plain driver-level executemany of one prepared
        # INSERT (the ORM and SQL compilation cost more than the insert itself).
        params = [row.driver_params(sqlite=self._single_writer) for row in rows]
        async with self.turn():
            if self._thread is not None:
                await self._thread.write(params)
            elif self._postgres is not None:
                await self._postgres.write(params)
            else:
                async with self._sessions.kw["bind"].begin() as connection:
                    await connection.exec_driver_sql(self._sql, params)
        self.commits += 1
        self.rows += len(rows)
        if len(rows) >= BURST_ROWS:
            self.burst_seen_at = asyncio.get_running_loop().time()
        self.stored.set()


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
