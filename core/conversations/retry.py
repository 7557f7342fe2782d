"""A client-chat use case run again when SQLite refuses its write for a concurrent writer.

The bot handles updates concurrently. On SQLite a transaction that read before writing
cannot wait for another connection's commit (SQLITE_BUSY / BUSY_SNAPSHOT): it is rolled
back and run again from the start, a few times, as core.contacts.service.upsert_by_phone
does. Safe because each use case commits once and its writes are idempotent (a message is
logged once by its Telegram id, a reply once by its idempotency key). PostgreSQL waits on
its own: nothing to retry there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError

from core.contacts.service import _sqlite_lock
from core.context import Ctx

T = TypeVar("T")
ATTEMPTS = 10


async def on_sqlite_lock(ctx: Ctx, use_case: Callable[[], Awaitable[T]]) -> T:
    """Run `use_case`; on a SQLite lock roll back and run it again (ATTEMPTS at most)."""
    for attempt in range(ATTEMPTS):
        try:
            return await use_case()
        except OperationalError as exc:
            if attempt == ATTEMPTS - 1 or not _sqlite_lock(exc):
                raise
            await ctx.session.rollback()
            await asyncio.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")
