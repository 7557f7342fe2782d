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
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.context import Ctx
from core.telegram.models import TelegramUpdate

RETENTION = timedelta(days=3)  # Telegram gives up on an update after 24 h
DELETE_CHUNK = 5000


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
