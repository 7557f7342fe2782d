"""Digest subscriptions and runs: each subscriber's previous full period, sent once.

1. Subscribe: a manager or admin picks daily, weekly or monthly and a local hour.
2. Due: in the recipient's zone, the current day / ISO week / month has begun and its
   first day has reached that hour; the digest covers the previous full period, whose
   bounds are local midnights turned into UTC (so a DST change makes a 23 or 25 hour day).
3. Claim: one `digest_runs` row per subscription and period (unique); the instance whose
   insert lands builds it. A run that failed, or whose instance died (its claim expired),
   is retaken with backoff (SKIP LOCKED on PostgreSQL) up to a number of attempts.
4. Send: the built workbook goes to the outbox as a `digest` document, and the run is
   marked sent, in one commit; the dedupe key stops a second copy.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.context import Ctx
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.outbox import service as outbox
from core.reports.models import DigestRun, DigestSubscription
from core.users.models import User

log = logging.getLogger(__name__)

Period = Literal["daily", "weekly", "monthly"]
PERIODS: tuple[str, ...] = get_args(Period)
DigestBuilder = Callable[
    [Ctx, DigestSubscription, datetime, datetime], Awaitable[tuple[bytes, str, str]]
]
"""Builds a digest: (ctx, subscription, start UTC, end UTC) -> (bytes, filename, caption)."""


@dataclass(frozen=True)
class DigestOptions:
    """How the digests job behaves (built from the settings by the composition root)."""

    claim_seconds: int = 900
    max_attempts: int = 5
    retry_base_seconds: int = 60


async def _subscriber(ctx: Ctx, actor_id: int) -> User:
    user = await ctx.session.get(User, actor_id)
    if user is None or not user.active:
        raise NotFound(f"user {actor_id} not found")
    if user.role not in ("manager", "admin"):
        raise PermissionDenied("digests are for managers and admins", code="digest-manager-only")
    return user


async def subscribe(ctx: Ctx, *, actor_id: int, period: str, hour: int) -> DigestSubscription:
    """Send me the `period` digest at `hour` (my local time); subscribing again changes it."""
    if period not in PERIODS:
        raise InvalidInput(f"period must be one of {', '.join(PERIODS)}", field="period")
    if not 0 <= hour <= 23:
        raise InvalidInput("hour must be between 0 and 23", field="hour", code="hour-range")
    await _subscriber(ctx, actor_id)
    subscription = await ctx.session.scalar(
        select(DigestSubscription).where(
            DigestSubscription.user_id == actor_id, DigestSubscription.period == period
        )
    )
    if subscription is None:
        subscription = DigestSubscription(
            user_id=actor_id, period=period, created_at=ctx.clock.now()
        )
        ctx.session.add(subscription)
    elif not subscription.active:
        subscription.created_at = ctx.clock.now()  # periods before this are not owed
    subscription.local_hour = hour
    subscription.active = True
    await ctx.session.commit()
    return subscription


async def unsubscribe(ctx: Ctx, *, actor_id: int) -> int:
    """Stop all my digests; returns how many subscriptions were stopped."""
    rows = list(
        await ctx.session.scalars(
            select(DigestSubscription).where(
                DigestSubscription.user_id == actor_id, DigestSubscription.active.is_(True)
            )
        )
    )
    for row in rows:
        row.active = False
    await ctx.session.commit()
    return len(rows)


async def list_for(ctx: Ctx, *, actor_id: int) -> list[DigestSubscription]:
    """My active digest subscriptions, daily first."""
    rows = await ctx.session.scalars(
        select(DigestSubscription).where(
            DigestSubscription.user_id == actor_id, DigestSubscription.active.is_(True)
        )
    )
    return sorted(rows, key=lambda row: PERIODS.index(row.period))


def current_period_start(period: str, today: date) -> date:
    """The first day of the day / ISO week / month that `today` is in."""
    if period == "daily":
        return today
    if period == "weekly":
        return today - timedelta(days=today.weekday())
    return today.replace(day=1)


def previous_period(period: str, today: date) -> tuple[date, date]:
    """The last full period before `today`'s: first and last day (inclusive)."""
    end = current_period_start(period, today) - timedelta(days=1)
    return current_period_start(period, end), end


def local_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC instants of the local midnights starting `first` and ending `last`."""
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def due_period(
    subscription: DigestSubscription, zone: ZoneInfo, now: datetime
) -> tuple[date, date] | None:
    """The period owed to this subscriber now, or None (not the hour yet, or not owed)."""
    local = now.astimezone(zone)
    begun = current_period_start(subscription.period, local.date())
    if local.date() == begun and local.hour < subscription.local_hour:
        return None
    first, last = previous_period(subscription.period, local.date())
    if local_bounds(first, last, zone)[1] <= subscription.created_at:
        return None  # it ended before the subscription began
    return first, last


async def send_due(
    ctx: Ctx, *, build: DigestBuilder, options: DigestOptions = DigestOptions()
) -> int:
    """Claim and send the digests owed now, then retry failed ones; returns how many sent."""
    claimed = await _claim_new(ctx, options)
    claimed += await _claim_retries(ctx, options)
    sent = 0
    for run_id in claimed:
        sent += await _deliver(ctx, run_id, build, options)
    return sent


async def _claim_new(ctx: Ctx, options: DigestOptions) -> list[int]:
    now = ctx.clock.now()
    rows = await ctx.session.execute(
        select(DigestSubscription, User.timezone)
        .join(User, User.id == DigestSubscription.user_id)
        .where(
            DigestSubscription.active.is_(True),
            User.active.is_(True),
            User.role.in_(("manager", "admin")),
            User.telegram_user_id.is_not(None),
        )
        .order_by(DigestSubscription.id)
    )
    values = []
    for subscription, zone_name in rows.tuples():
        period = due_period(subscription, ZoneInfo(zone_name), now)
        if period is not None:
            values.append(
                {
                    "subscription_id": subscription.id,
                    "period_start": period[0],
                    "period_end": period[1],
                    "status": "pending",
                    "attempts": 1,
                    "claimed_until": now + timedelta(seconds=options.claim_seconds),
                    "created_at": now,
                }
            )
    if not values:
        await ctx.session.commit()  # ends the read; nothing was written
        return []
    dialect = ctx.session.bind.dialect.name if ctx.session.bind else "sqlite"
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    # Unsent runs of earlier periods already exist, so this inserts only what nobody claimed.
    statement = insert_fn(DigestRun).values(values).on_conflict_do_nothing().returning(DigestRun.id)
    claimed = list(await ctx.session.scalars(statement))
    await ctx.session.commit()
    return claimed


async def _claim_retries(ctx: Ctx, options: DigestOptions) -> list[int]:
    now = ctx.clock.now()
    query = (
        select(DigestRun)
        .where(
            DigestRun.status.in_(("pending", "failed")),
            DigestRun.attempts < options.max_attempts,
            or_(DigestRun.claimed_until.is_(None), DigestRun.claimed_until < now),
            or_(DigestRun.next_attempt_at.is_(None), DigestRun.next_attempt_at <= now),
        )
        .order_by(DigestRun.id)
        .limit(50)
    )
    if ctx.session.bind is not None and ctx.session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    runs = list(await ctx.session.scalars(query))
    for run in runs:
        run.attempts += 1
        run.status = "pending"
        run.claimed_until = now + timedelta(seconds=options.claim_seconds)
    await ctx.session.commit()
    return [run.id for run in runs]


async def _deliver(ctx: Ctx, run_id: int, build: DigestBuilder, options: DigestOptions) -> int:
    run = await ctx.session.get(DigestRun, run_id)
    subscription = await ctx.session.get(DigestSubscription, run.subscription_id) if run else None
    user = await ctx.session.get(User, subscription.user_id) if subscription else None
    if run is None or subscription is None or user is None:
        await ctx.session.commit()
        return 0
    # Read before the builder runs: it may end the transaction, which expires these objects.
    key = f"digest:{subscription.id}:{run.period_start.isoformat()}"
    user_id, chat_id = user.id, user.telegram_user_id
    start, end = local_bounds(run.period_start, run.period_end, ZoneInfo(user.timezone))
    try:
        content, filename, caption = await build(ctx, subscription, start, end)
    except Exception as exc:  # any builder failure is recorded and retried, never lost
        log.exception("digest run %s failed", run_id)
        await ctx.session.rollback()
        await _mark_failed(ctx, run_id, f"{type(exc).__name__}: {exc}", options)
        return 0
    await outbox.enqueue(
        ctx,
        kind="digest",
        dedupe_key=key,
        user_id=user_id,
        chat_id=chat_id,
        payload={
            "filename": filename,
            "content_b64": base64.b64encode(content).decode("ascii"),
            "caption": caption,
        },
    )
    await ctx.session.execute(
        update(DigestRun)
        .where(DigestRun.id == run_id)
        .values(
            status="sent",
            sent_at=ctx.clock.now(),
            claimed_until=None,
            last_error=None,
            next_attempt_at=None,
        )
    )
    await ctx.session.commit()
    return 1


async def _mark_failed(ctx: Ctx, run_id: int, error: str, options: DigestOptions) -> None:
    run = await ctx.session.get(DigestRun, run_id)
    if run is None:
        return
    run.status, run.last_error, run.claimed_until = "failed", error[:2000], None
    delay = options.retry_base_seconds * 2 ** max(run.attempts - 1, 0)
    run.next_attempt_at = ctx.clock.now() + timedelta(seconds=min(delay, 6 * 3600))
    await ctx.session.commit()
