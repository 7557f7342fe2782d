"""Group commit for Business chats: the updates being handled at once share one transaction.

A salesperson's busy day, or Telegram delivering a backlog after an outage, brings many
business updates at once, each handled in its own task. One commit each would pay one fsync
each and, on SQLite, make the tasks queue for the one write lock (or fail with "database is
locked" when a reader must become a writer). So each process logs them through one writer:

1. `apply(unit)` queues a unit of work (core.conversations.business `message_unit`,
   `edit_unit`, `deletion_unit`: no commit inside) and waits until it is committed.
2. Whoever finds no flush running becomes the flusher: it takes up to `max_batch` queued
   units, runs them in one session in order and commits once, then takes the next batch,
   until the queue is empty. No background task outlives the updates.
3. A batch that fails (a lost race for a new chat across instances, a message delivered
   again — a batch adds its messages without asking whether they are logged already, and
   the unique index refuses a repeat at the commit —, a database error) is rolled back and
   its units run again one by one, each committed alone and asking first, so one bad
   update fails alone and a repeat is "duplicate". A caller's result (or error) is set
   only after its commit.
4. A flusher cancelled at shutdown fails what it had not committed: those updates were
   claimed, and claimed updates are handled at most once (core/telegram/updates.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.config import CoreConfig
from core.context import Ctx
from core.conversations.business import BATCHED, ChatRace, in_own_unit
from core.waiting import Waiting, answer, fail

log = logging.getLogger(__name__)
# A batch holds SQLite's write lock while it runs: small enough that other writers (the update
# claims, the outbox) wait well under their busy timeout even on a slow machine.
MAX_BATCH = 50

Unit = Callable[[Ctx], Awaitable[Any]]
_Queued = Waiting[Unit, Any]


class BusinessLogWriter:
    """One per process (per dispatcher): group commit of Business updates."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: CoreConfig,
        clock: Clock,
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._clock = clock
        self._max_batch = max_batch
        self._queue: list[_Queued] = []
        self._flushing = False

    async def apply(self, unit: Unit) -> Any:
        """Run `unit(ctx)` in a shared transaction; returns its result once committed."""
        queued: _Queued = Waiting(unit)
        self._queue.append(queued)
        if not self._flushing:
            self._flushing = True
            try:
                while self._queue:
                    batch = self._queue[: self._max_batch]
                    del self._queue[: self._max_batch]
                    await self._flush(batch)
            finally:
                self._flushing = False
                self._fail_unflushed()
        return await queued.done

    async def _flush(self, batch: list[_Queued]) -> None:
        results: list[Any] = []
        try:
            async with self._sessions() as session:
                session.info[BATCHED] = True  # a redelivery fails the batch (step 3)
                ctx = Ctx(session=session, config=self._config, clock=self._clock)
                for queued in batch:
                    results.append(await queued.item(ctx))
                await session.commit()
        except asyncio.CancelledError:
            fail(batch, RuntimeError("the business log stopped"))
            raise
        except Exception as exc:
            if len(batch) > 1 or not isinstance(exc, ChatRace):
                log.info("a batch of %s business updates is applied one by one", len(batch))
            await self._one_by_one(batch)
            return
        answer(batch, results)

    async def _one_by_one(self, batch: list[_Queued]) -> None:
        for queued in batch:
            try:
                async with self._sessions() as session:
                    ctx = Ctx(session=session, config=self._config, clock=self._clock)
                    result = await in_own_unit(ctx, lambda: queued.item(ctx))  # noqa: B023
            except Exception as exc:  # this update alone fails; the handler logs it
                queued.done.set_exception(exc)
            else:
                queued.done.set_result(result)

    def _fail_unflushed(self) -> None:
        """The flusher was cancelled with units still queued: nobody would commit them."""
        if self._queue and not self._flushing:
            left, self._queue = self._queue, []
            fail(left, RuntimeError("the business log stopped"))
