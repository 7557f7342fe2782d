"""Notifications outbox: enqueue with a dedupe key, claim, mark sent, retry with backoff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.context import Ctx
from core.models.system import Notification

CLAIM_SECONDS = 120
BACKOFF_BASE_SECONDS = 10
BACKOFF_MAX_SECONDS = 3600


async def enqueue(
    ctx: Ctx,
    *,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    user_id: int | None = None,
    chat_id: int | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Add a message to the outbox in the caller's unit of work; a known dedupe key is a no-op.

    Returns True when a row was added. Does not commit: the caller's service commits once.
    """
    if user_id is None and chat_id is None:
        raise ValueError("a notification needs a user or a chat")
    now = ctx.clock.now()
    values = {
        "user_id": user_id,
        "chat_id": chat_id,
        "kind": kind,
        "payload": payload,
        "dedupe_key": dedupe_key[:255],
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "created_at": now,
    }
    dialect = ctx.session.bind.dialect.name if ctx.session.bind else "sqlite"
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert_fn(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    result = await ctx.session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def claim(ctx: Ctx, *, limit: int = 50) -> list[Notification]:
    """Take due notifications for delivery; a crashed sender's claim expires and is retaken."""
    now = ctx.clock.now()
    query = (
        select(Notification)
        .where(
            Notification.status == "pending",
            Notification.next_attempt_at <= now,
            or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    )
    if ctx.session.bind is not None and ctx.session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(await ctx.session.scalars(query))
    until = now + timedelta(seconds=CLAIM_SECONDS)
    for row in rows:
        row.claimed_until = until
        row.attempts += 1
    await ctx.session.commit()
    return rows


async def mark_sent(ctx: Ctx, *, notification_id: int) -> None:
    """Delivered: never sent again."""
    await ctx.session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(status="sent", sent_at=ctx.clock.now(), claimed_until=None, last_error=None)
    )
    await ctx.session.commit()


def backoff(attempts: int) -> timedelta:
    """Exponential backoff: 10 s, 20 s, 40 s … capped at an hour."""
    return timedelta(
        seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    )


async def mark_failed(
    ctx: Ctx,
    *,
    notification_id: int,
    error: str,
    retry_after: float | None = None,
    permanent: bool = False,
) -> Notification | None:
    """A delivery failed: retry later with backoff, or give up after the configured attempts."""
    row = await ctx.session.get(Notification, notification_id)
    if row is None:
        return None
    row.last_error = error[:2000]
    row.claimed_until = None
    if permanent or row.attempts >= ctx.config.outbox_max_attempts:
        row.status = "failed"
    else:
        delay = timedelta(seconds=retry_after) if retry_after is not None else backoff(row.attempts)
        row.next_attempt_at = ctx.clock.now() + delay
    await ctx.session.commit()
    return row


async def enqueue_many(ctx: Ctx, *, kind: str, messages: Sequence[dict[str, Any]]) -> int:
    """`enqueue` for many messages of one kind in one statement (the scheduler's batches).

    Each message: `dedupe_key`, `payload`, `user_id` and/or `chat_id`. Known dedupe keys are
    no-ops. Returns how many rows were added; does not commit.
    """
    if not messages:
        return 0
    if any(m.get("user_id") is None and m.get("chat_id") is None for m in messages):
        raise ValueError("a notification needs a user or a chat")
    now = ctx.clock.now()
    rows = [
        {
            "user_id": m.get("user_id"),
            "chat_id": m.get("chat_id"),
            "kind": kind,
            "payload": m["payload"],
            "dedupe_key": str(m["dedupe_key"])[:255],
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for m in messages
    ]
    dialect = ctx.session.bind.dialect.name if ctx.session.bind else "sqlite"
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    result = await ctx.session.execute(
        insert_fn(Notification).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return int(getattr(result, "rowcount", 0) or 0)
