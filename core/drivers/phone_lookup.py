"""Caller look-ups at webhook speed: the look-up statement on a dedicated connection.

Through an `AsyncSession` a look-up cost ~1 ms on SQLite (aiosqlite hands each call to its
thread, the session adds its own work) for a query SQLite answers in microseconds. Here:

- SQLite file: one stdlib `sqlite3` connection in autocommit, `query_only`, queried on the
  event loop's thread (an indexed probe, tens of µs; a lock is waited for with
  `asyncio.sleep`, as in core/drivers/sqlite_inline.py).
- PostgreSQL: a small asyncpg pool; asyncpg prepares the statement once per connection.
  Look-ups that arrive while one is in flight go together in the next statement (one round
  trip for all of them, as the inbox commits a batch): under NOTIFY_START load a round trip
  per look-up was 40 % of the server's time, most of it the socket writes.
- Anything else (in-memory SQLite): the session path, `contacts.lookup_phone`.

Exact, with no cache: every look-up is its own read transaction (autocommit; WAL on SQLite),
so it sees every change committed before it, by this process or any other instance.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import CoreConfig
from core.contacts.service import (
    LOOKUP_PHONE_SQL,
    PhoneOwner,
    lookup_params,
    lookup_phone,
    owner_from_row,
)
from core.context import Ctx
from core.db import asyncpg_connect_args, session_scope, sqlite_file
from core.drivers.sqlite_inline import when_unlocked
from core.waiting import Waiting, answer, fail


class PhoneLookup(Protocol):
    async def find(self, phone: str, *, within: float | None = None) -> PhoneOwner | None:
        """The owner of this number as written by a PBX, or None; an error (TimeoutError,
        a locked database…) when the answer takes more than `within` seconds."""

    async def close(self) -> None:
        """Release the connection(s)."""


# `is_live = 1` as a literal: a bound value in a term that a partial index's WHERE names
# (uq_contact_phones_live_e164 ... WHERE is_live = 1) makes SQLite re-plan the statement at
# every execution (~100 µs); the literal keeps the prepared plan (~15 µs).
_SQLITE_SQL = LOOKUP_PHONE_SQL.replace(":yes", "1")


class SqliteLookup:
    """LOOKUP_PHONE_SQL on one sqlite3 connection, run where it is awaited."""

    def __init__(self, database: str, *, region: str) -> None:
        self.database = database
        self.region = region
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self.database, timeout=0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA busy_timeout=0")  # waits happen in when_unlocked instead
            self._conn = conn
        return self._conn

    async def find(self, phone: str, *, within: float | None = None) -> PhoneOwner | None:
        params = lookup_params(phone, region=self.region)
        if params is None:
            return None
        params["any_country"] = int(params["any_country"])
        conn = self._connection()
        # fetchall: the statement is reset at once, so no read snapshot outlives the query.
        # The query itself takes microseconds on this thread; only a lock wait takes time,
        # and it stops after `within` (no task and timer per look-up, as a timeout would add).
        query = lambda: conn.execute(_SQLITE_SQL, params).fetchall()  # noqa: E731
        rows = await when_unlocked(query, within)
        return owner_from_row(rows[0]) if rows else None

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_ORDER = ("last10", "e164", "any_country")
_POSITIONAL_SQL = re.sub(
    r":(\w+)", lambda m: f"${_ORDER.index(m[1]) + 1}", LOOKUP_PHONE_SQL.replace(":yes", "TRUE")
)
# Several look-ups in one statement: LOOKUP_PHONE_SQL itself for each (number, position) of
# the arrays, so each answers exactly what it would have answered alone.
_BATCH_SQL = (
    "SELECT q.i, r.* FROM unnest($1::text[], $2::text[], $3::boolean[]) WITH ORDINALITY"
    " AS q(last10, e164, any_country, i) CROSS JOIN LATERAL ("
    + re.sub(r":(\w+)", lambda m: f"q.{m[1]}", LOOKUP_PHONE_SQL.replace(":yes", "TRUE"))
    + ") AS r(contact_id, contact_name, company_name, owner_id, owner_name, owner_extension,"
    " owner_telegram_id, e164)"
)
_Waiting = Waiting[dict[str, Any], tuple[Any, ...] | None]


class PostgresLookup:
    """LOOKUP_PHONE_SQL through a small asyncpg pool (made on first use, in the running loop).

    Up to `max_size` statements are in flight at once; look-ups that come meanwhile wait and
    go together in the next one (`_BATCH_SQL`). Alone, a look-up is sent at once, as before.
    Exact all the same: a waiting look-up's statement starts after the look-up did, so it
    sees every change committed before the look-up was asked.
    """

    MAX_BATCH = 200

    def __init__(self, connect_args: dict[str, Any], *, region: str, max_size: int = 4) -> None:
        self.connect_args = connect_args  # core.db.asyncpg_connect_args
        self.region = region
        self.max_size = max_size
        self._pool: Any = None
        self._lock = asyncio.Lock()
        self._waiting: list[_Waiting] = []
        self._senders: set[asyncio.Task[None]] = set()

    async def _get_pool(self) -> Any:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    import asyncpg  # type: ignore[import-untyped]

                    self._pool = await asyncpg.create_pool(
                        min_size=1, max_size=self.max_size, reset=_after_lookup, **self.connect_args
                    )
        return self._pool

    async def find(self, phone: str, *, within: float | None = None) -> PhoneOwner | None:
        params = lookup_params(phone, region=self.region)
        if params is None:
            return None
        waiting: _Waiting = Waiting(params)
        self._waiting.append(waiting)
        if len(self._senders) < self.max_size:
            sender = asyncio.create_task(self._send(), name="phone-lookup")
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        async with asyncio.timeout(within):  # cancels `done`: its statement skips it
            row = await waiting.done
        return None if row is None else owner_from_row(row)

    async def _send(self) -> None:
        """Send what is waiting, a statement at a time, until nothing is."""
        while self._waiting:
            batch = [w for w in self._waiting[: self.MAX_BATCH] if not w.done.done()]
            del self._waiting[: self.MAX_BATCH]
            if not batch:
                continue
            try:
                rows = await self._query([w.item for w in batch])
            except Exception as exc:  # each caller gets the error, as from its own query
                fail(batch, exc)
                continue
            answer(batch, rows)

    async def _query(self, batch: list[dict[str, Any]]) -> list[tuple[Any, ...] | None]:
        pool = await self._get_pool()
        if len(batch) == 1:
            one = batch[0]
            row = await pool.fetchrow(
                _POSITIONAL_SQL, one["last10"], one["e164"], one["any_country"]
            )
            return [None if row is None else tuple(row)]
        found = await pool.fetch(
            _BATCH_SQL,
            [params["last10"] for params in batch],
            [params["e164"] for params in batch],
            [params["any_country"] for params in batch],
        )
        by_position = {record[0]: tuple(record)[1:] for record in found}
        return [by_position.get(position) for position in range(1, len(batch) + 1)]

    async def close(self) -> None:
        for sender in list(self._senders):
            sender.cancel()
        for waiting in self._waiting:
            waiting.done.cancel()
        self._waiting = []
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _after_lookup(connection: Any) -> None:
    """Nothing to undo after a look-up. It is one SELECT in autocommit and leaves no session
    state, so asyncpg's default reset (advisory locks, cursors, LISTEN, settings: a round
    trip after every look-up) is skipped; the pool still rolls back a transaction left open."""


class SessionLookup:
    """The session path (`contacts.lookup_phone`), for databases the others do not serve."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], config: CoreConfig) -> None:
        self.sessions = sessions
        self.config = config

    async def find(self, phone: str, *, within: float | None = None) -> PhoneOwner | None:
        async with asyncio.timeout(within), session_scope(self.sessions) as session:
            return await lookup_phone(Ctx.of(session, self.config), phone=phone)

    async def close(self) -> None:
        return None


def create_phone_lookup(
    url: str, *, config: CoreConfig, sessions: async_sessionmaker[AsyncSession]
) -> PhoneLookup:
    """The fastest exact look-up this database allows."""
    database = sqlite_file(url)
    if database is not None:
        return SqliteLookup(database, region=config.default_region)
    connect_args = asyncpg_connect_args(url)
    if connect_args is not None:
        return PostgresLookup(connect_args, region=config.default_region)
    return SessionLookup(sessions, config)
