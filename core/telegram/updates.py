"""Telegram updates applied once: a redelivered update is recognised by its `update_id`.

1. Claim: before an update is handled, `claim` inserts (bot id, update id) with
   on-conflict-do-nothing and commits; True means the update is new and this caller handles
   it, False that it was claimed before (Telegram redelivers on timeouts and after a restart).
2. Claimed means taken, not finished: an update whose handler fails, or whose process dies
   in the middle, is not applied again (at most once). A half-applied update is rarer and
   cheaper than three notes from one message, or an update that crashes the process being
   fed to it again after every restart.
3. Prune: Telegram keeps an undelivered update for 24 hours, so claims older than
   `RETENTION` can never match again and housekeeping deletes them.
4. Group commit (`Claims`, what the webhook uses): the claims of updates arriving together
   (Telegram keeps up to 40 requests in flight) go in as one multi-row `INSERT … ON CONFLICT
   DO NOTHING RETURNING` and one commit, instead of one fsync'd commit each. Each caller is
   answered only after that commit, so exactly-once holds as with `claim`: an update id
   claimed twice in one batch is new for its first caller only, and a redelivery after a
   restart finds the committed claim. The flush runs in its own task: a request cancelled
   while it waits does not cancel the others' commit. A batch that fails fails each of its
   callers (the webhook answers 503 and Telegram delivers again).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.config import CoreConfig
from core.context import Ctx
from core.telegram.models import TelegramUpdate
from core.waiting import Waiting, answer, fail

RETENTION = timedelta(days=3)  # Telegram gives up on an update after 24 h
DELETE_CHUNK = 5000
MAX_BATCH = 300  # claims in one statement: 900 parameters, under SQLite's old 999 limit


async def claim(ctx: Ctx, *, bot_id: int, update_id: int) -> bool:
    """Take an update for handling; True when it is new, False when it was taken before."""
    dialect = ctx.session.get_bind().dialect.name
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert_fn(TelegramUpdate)
        .values(bot_id=bot_id, update_id=update_id, received_at=ctx.clock.now())
        .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
    )
    result = await ctx.session.execute(statement)
    await ctx.session.commit()
    return bool(getattr(result, "rowcount", 0))


async def claim_many(ctx: Ctx, *, bot_id: int, update_ids: list[int]) -> list[bool]:
    """Take several updates in one statement and commit (step 4); for each id in order, True
    when it is new and this is its first occurrence in `update_ids`."""
    distinct = list(dict.fromkeys(update_ids))
    dialect = ctx.session.get_bind().dialect.name
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    now = ctx.clock.now()
    taken: set[int] = set()
    for start in range(0, len(distinct), MAX_BATCH):
        chunk = distinct[start : start + MAX_BATCH]
        statement = (
            insert_fn(TelegramUpdate)
            .values([{"bot_id": bot_id, "update_id": u, "received_at": now} for u in chunk])
            .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
            .returning(TelegramUpdate.update_id)
        )
        taken.update(await ctx.session.scalars(statement))
    await ctx.session.commit()
    answers = []
    for update_id in update_ids:
        answers.append(update_id in taken)
        taken.discard(update_id)  # a second occurrence in the batch is a redelivery
    return answers


class Claims:
    """Group commit of one bot's update claims (step 4), one per process and bot."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: CoreConfig,
        clock: Clock,
        *,
        bot_id: int,
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._clock = clock
        self._bot_id = bot_id
        self._queue: list[Waiting[int, bool]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def claim(self, update_id: int) -> bool:
        """True when the update is new (committed as taken), False when taken before."""
        waiting: Waiting[int, bool] = Waiting(update_id)
        self._queue.append(waiting)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="telegram-update-claims")
        return await asyncio.shield(waiting.done)

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                async with self._sessions() as session:
                    ctx = Ctx(session=session, config=self._config, clock=self._clock)
                    answers = await claim_many(
                        ctx, bot_id=self._bot_id, update_ids=[w.item for w in batch]
                    )
            except BaseException as exc:
                fail(batch, exc if isinstance(exc, Exception) else RuntimeError("claims stopped"))
                if not isinstance(exc, Exception):
                    raise
                continue
            answer(batch, answers)

    async def close(self) -> None:
        """Let a flush in progress finish (shutdown)."""
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher


async def prune(ctx: Ctx, *, retention: timedelta = RETENTION) -> int:
    """Delete one chunk of claims older than `retention`; returns how many."""
    cutoff = ctx.clock.now() - retention
    old = (
        select(TelegramUpdate.update_id)
        .where(TelegramUpdate.received_at < cutoff)
        .order_by(TelegramUpdate.received_at)
        .limit(DELETE_CHUNK)
    )
    result = await ctx.session.execute(
        delete(TelegramUpdate).where(
            TelegramUpdate.received_at < cutoff,
            TelegramUpdate.update_id.in_(old.scalar_subquery()),
        )
    )
    await ctx.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
