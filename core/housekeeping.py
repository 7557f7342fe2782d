"""Housekeeping: the periodic clean-ups, one owner each, each small and safe to repeat.

- Calls stuck in `ringing`: `calls.expire_stale_ringing` (the inbox processor runs it too
  while it is on; closing an already closed call is a no-op).
- Processed inbox rows older than the retention are deleted (failed ones are kept for
  `perezvon inbox failed`).
- Outbox rows that failed get one more attempt each retry interval, for a limited time
  (not those to a user who blocked the bot).
- Invites that expired unused are deleted after a grace period (until then the bot can
  still say "expired" instead of "not found").
- Claims of applied Telegram updates are deleted once Telegram can no longer redeliver them
  (`telegram_updates.RETENTION`).
- Background jobs are deleted a while after they finished, with any file they still hold
  (a preview nobody applied); a job that never ran (no scheduler) goes after a week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, select, update

from core.calls.models import TelephonyEvent
from core.context import Ctx
from core.jobs.models import BackgroundJob
from core.outbox.models import Notification
from core.telegram import updates as telegram_updates
from core.users.models import Invite, User

DELETE_CHUNK = 1000
JOBS_RETENTION = timedelta(days=2)  # a preview's buttons work this long, then its file goes
JOBS_NEVER_RUN = timedelta(days=7)


@dataclass(frozen=True)
class HousekeepingOptions:
    """How long things are kept (built from the settings by the composition root)."""

    inbox_retention: timedelta = timedelta(days=30)
    outbox_retry_every: timedelta = timedelta(hours=1)
    outbox_retry_for: timedelta = timedelta(days=1)
    invite_grace: timedelta = timedelta(days=7)


async def purge_inbox(ctx: Ctx, *, options: HousekeepingOptions = HousekeepingOptions()) -> int:
    """Delete one chunk of processed, error-free inbox rows past the retention."""
    cutoff = ctx.clock.now() - options.inbox_retention
    ids = select(TelephonyEvent.id).where(
        TelephonyEvent.processed_at.is_not(None),
        TelephonyEvent.processed_at < cutoff,
        TelephonyEvent.error.is_(None),
    )
    result = await ctx.session.execute(
        delete(TelephonyEvent).where(
            TelephonyEvent.id.in_(ids.limit(DELETE_CHUNK).scalar_subquery())
        )
    )
    await ctx.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def retry_failed_outbox(
    ctx: Ctx, *, options: HousekeepingOptions = HousekeepingOptions()
) -> int:
    """Failed notifications younger than `outbox_retry_for` get one more attempt."""
    now = ctx.clock.now()
    active = select(User.id).where(User.active.is_(True))
    result = await ctx.session.execute(
        update(Notification)
        .where(
            Notification.status == "failed",
            Notification.created_at >= now - options.outbox_retry_for,
            Notification.next_attempt_at <= now - options.outbox_retry_every,
            # Not to someone who blocked the bot (the delivery marks them inactive).
            or_(Notification.user_id.is_(None), Notification.user_id.in_(active)),
        )
        .values(
            status="pending",
            # One attempt short of the limit: a failure puts it back to `failed` at once.
            attempts=max(ctx.config.outbox_max_attempts - 1, 0),
            next_attempt_at=now,
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    await ctx.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_expired_invites(
    ctx: Ctx, *, options: HousekeepingOptions = HousekeepingOptions()
) -> int:
    """Delete invites that expired unused more than `invite_grace` ago."""
    result = await ctx.session.execute(
        delete(Invite).where(
            Invite.used_at.is_(None), Invite.expires_at < ctx.clock.now() - options.invite_grace
        )
    )
    await ctx.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_telegram_updates(
    ctx: Ctx, *, retention: timedelta = telegram_updates.RETENTION
) -> int:
    """Delete one chunk of applied-update claims past the retention (Telegram keeps 24 h)."""
    return await telegram_updates.prune(ctx, retention=retention)


async def purge_finished_jobs(ctx: Ctx, *, retention: timedelta = JOBS_RETENTION) -> int:
    """Delete background jobs (and their stored files) finished more than `retention` ago."""
    now = ctx.clock.now()
    result = await ctx.session.execute(
        delete(BackgroundJob).where(
            or_(
                BackgroundJob.finished_at < now - retention,
                BackgroundJob.created_at < now - max(retention, JOBS_NEVER_RUN),
            )
        )
    )
    await ctx.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
