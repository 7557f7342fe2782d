"""Notifications outbox: enqueue with a dedupe key, claim, mark sent, retry with backoff.

Live messages: a sent notification of a kind in LIVE_KINDS keeps the Telegram message id it
became (`mark_all_sent`); `enqueue_edit` queues a notification that edits that message in
place (one per original and state, so a repeated event edits once).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.common import audit
from core.context import Actor, Ctx
from core.outbox.models import Notification
from core.retry import backoff
from core.users.models import User

LIVE_KINDS = ("incoming_call", "missed_call")  # messages edited later: their ids are kept
CLAIM_SECONDS = 120
# The look-ups every answered or ended call makes (the inbox processor's hot path), built once:
# building these statements cost more than running them.
_LIVE_MESSAGES = (
    select(Notification)
    .where(
        Notification.live_ref == bindparam("live_ref"),
        Notification.kind.in_(LIVE_KINDS),
        or_(
            Notification.status == "sent",
            (Notification.status == "pending") & (Notification.claimed_until > bindparam("now")),
        ),
    )
    .order_by(Notification.id)
)
_EDIT_WAITING = (
    select(Notification.id)
    .where(
        Notification.live_ref == bindparam("live_ref"),
        Notification.status == "pending",
        Notification.claimed_until.is_(None),
    )
    .limit(1)
)


async def enqueue(
    ctx: Ctx,
    *,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    user_id: int | None = None,
    chat_id: int | None = None,
    not_before: datetime | None = None,
    live_ref: str | None = None,
) -> bool:
    """Add a message to the outbox in the caller's unit of work; a known dedupe key is a no-op.

    `live_ref` marks a message that later edits reach (`live_messages`). Returns True when a
    row was added. Does not commit: the caller's service commits once.
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
        "live_ref": live_ref,
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


async def notify(
    ctx: Ctx, user: User, kind: str, *once_per: object, payload: dict[str, Any]
) -> bool:
    """`enqueue` a message of `kind` to a staff member's own chat, once per `once_per`: the
    dedupe key is "kind:once_per[0]:once_per[1]…"."""
    key = ":".join(str(part) for part in (kind, *once_per))
    chat_id = user.telegram_user_id
    return await enqueue(
        ctx, kind=kind, dedupe_key=key, payload=payload, user_id=user.id, chat_id=chat_id
    )


async def handed_over(
    ctx: Ctx,
    actor: Actor,
    kind: str,
    key: int,
    users: tuple[int | None, int | None],
    payload: dict[str, Any],
) -> None:
    """Something handed over (`key`, with `payload`) is told to the old and the new owner in
    `users`, not to whoever handed it over; once per user and hand-over."""
    stamp = ctx.clock.now().isoformat()
    for user_id in users:
        if user_id is None or user_id == actor.user_id:
            continue
        await enqueue(
            ctx,
            kind=kind,
            dedupe_key=f"{kind}:{key}:{user_id}:{stamp}",
            user_id=user_id,
            payload={**payload, "by_id": actor.user_id},
        )


async def claim(
    ctx: Ctx, *, limit: int = 50, kinds: Sequence[str] | None = None
) -> list[Notification]:
    """Take due notifications for delivery (only `kinds` when given); a crashed sender's claim
    expires and is retaken."""
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
        # A claim must see the rows as stored, not as an earlier read in this session left them.
        .execution_options(populate_existing=True)
    )
    if kinds is not None:
        query = query.where(Notification.kind.in_(list(kinds)))
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


async def mark_all_sent(
    ctx: Ctx, *, notification_ids: Sequence[int], message_ids: Mapping[int, int] | None = None
) -> None:
    """Delivered, several at once: never sent again. `message_ids` (notification id -> the
    Telegram message it became) are kept for the live kinds' later edits."""
    if not notification_ids:
        return
    await ctx.session.execute(
        update(Notification)
        .where(Notification.id.in_(list(notification_ids)))
        .values(status="sent", sent_at=ctx.clock.now(), claimed_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    for notification_id, message_id in (message_ids or {}).items():
        await ctx.session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(message_id=message_id)
            .execution_options(synchronize_session=False)
        )
    await ctx.session.commit()


async def live_messages(ctx: Ctx, *, live_ref: str) -> list[Notification]:
    """The messages showing `live_ref` that went out or are going out now: the ones a later
    edit must reach. One still waiting unclaimed needs no edit (it is rendered from the
    current state when it goes)."""
    params = {"live_ref": live_ref, "now": ctx.clock.now()}
    # No autoflush: the inbox processor's batch inserts its new calls together at its commit.
    with ctx.session.no_autoflush:
        return list(await ctx.session.scalars(_LIVE_MESSAGES, params))


async def enqueue_edit(
    ctx: Ctx, *, of: Notification, kind: str, state: str, payload: dict[str, Any]
) -> bool:
    """Queue an in-place edit of the message `of` became, showing `state` (once per state).

    An edit of it still waiting unclaimed is enough: it renders the state as it is when it
    goes, so a burst of changes costs Telegram one request, not one per change."""
    ref = f"edit:{of.id}"
    with ctx.session.no_autoflush:
        if await ctx.session.scalar(_EDIT_WAITING, {"live_ref": ref}) is not None:
            return False
    return await enqueue(
        ctx,
        kind=kind,
        dedupe_key=f"{ref}:{state}",
        user_id=of.user_id,
        chat_id=of.chat_id,
        payload={**payload, "of": of.id},
        live_ref=ref,
    )


async def mark_failed(
    ctx: Ctx,
    *,
    notification_id: int,
    error: str,
    retry_after: float | None = None,
    permanent: bool = False,
    transient: bool = False,
) -> Notification | None:
    """A delivery failed: retry later with backoff, or give up after the configured attempts.

    `transient` (Telegram unreachable, 5xx, flood control): the attempt is not counted and the
    notification is never given up, so an outage of any length loses nothing.
    """
    row = await ctx.session.get(Notification, notification_id)
    if row is None:
        return None
    row.last_error = error[:2000]
    row.claimed_until = None
    if transient:
        row.attempts = max(row.attempts - 1, 0)
        row.next_attempt_at = ctx.clock.now() + (
            timedelta(seconds=retry_after) if retry_after is not None else backoff(row.attempts)
        )
    elif permanent or row.attempts >= ctx.config.outbox_max_attempts:
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


async def defer(ctx: Ctx, *, notification_ids: Sequence[int], until: datetime) -> None:
    """Give claimed notifications back unsent, due at `until`; their claim is not counted."""
    if not notification_ids:
        return
    await ctx.session.execute(
        update(Notification)
        .where(Notification.id.in_(list(notification_ids)), Notification.status == "pending")
        .values(
            claimed_until=None,
            next_attempt_at=until,
            attempts=case((Notification.attempts > 0, Notification.attempts - 1), else_=0),
        )
        .execution_options(synchronize_session=False)
    )
    await ctx.session.commit()


async def mark_skipped(ctx: Ctx, *, notification_id: int, reason: str) -> None:
    """Nothing to send (the recipient or the subject is gone): settled, never retried."""
    await ctx.session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(status="skipped", claimed_until=None, last_error=reason[:2000])
    )
    await ctx.session.commit()


async def mark_blocked(ctx: Ctx, *, notification_id: int, error: str) -> int | None:
    """The recipient blocked the bot: the notification fails for good and its user is marked
    inactive (an admin reactivates them). Returns that user's id, if any."""
    row = await ctx.session.get(Notification, notification_id)
    if row is None:
        return None
    row.status, row.claimed_until, row.last_error = "failed", None, error[:2000]
    user = await ctx.session.get(User, row.user_id) if row.user_id is not None else None
    if user is not None and user.active:
        user.active = False
        audit(
            ctx,
            actor=Actor.system("telegram"),
            entity="user",
            entity_id=user.id,
            action="deactivate",
            changes={"reason": "blocked the bot"},
        )
    await ctx.session.commit()
    return user.id if user is not None else None
