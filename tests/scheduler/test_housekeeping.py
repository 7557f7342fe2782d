"""Housekeeping: old processed inbox rows go, failed outbox rows get another try, expired
invites go, calls stuck ringing are closed; each clean-up leaves everything else alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import housekeeping
from core.config import CoreConfig
from core.context import Ctx
from core.housekeeping import HousekeepingOptions
from core.models import Call, Invite, Notification, TelephonyEvent
from core.outbox import service as outbox
from core.users import service as users
from scheduler.jobs import JobOptions, Jobs
from tests.fakes.clock import FakeClock
from tests.scheduler.helpers import SYSTEM, make_user


def _event(
    key: str, received: FakeClock, *, processed: bool, error: str | None = None
) -> TelephonyEvent:
    now = received.now()
    return TelephonyEvent(
        provider="generic",
        dedupe_key=key,
        body=b"{}",
        received_at=now,
        processed_at=now if processed else None,
        error=error,
    )


async def test_processed_inbox_rows_past_the_retention_are_deleted_and_others_kept(
    ctx: Ctx, clock: FakeClock
) -> None:
    ctx.session.add_all(
        [
            _event("old-done", clock, processed=True),
            _event("old-failed", clock, processed=True, error="bad payload"),
            _event("old-waiting", clock, processed=False),
        ]
    )
    await ctx.session.commit()
    clock.advance(days=20)
    ctx.session.add(_event("new-done", clock, processed=True))
    await ctx.session.commit()
    clock.advance(days=11)
    options = HousekeepingOptions(inbox_retention=timedelta(days=30))
    assert await housekeeping.purge_inbox(ctx, options=options) == 1
    left = set(await ctx.session.scalars(select(TelephonyEvent.dedupe_key)))
    assert left == {"old-failed", "old-waiting", "new-done"}


@pytest.fixture
async def refused(ctx: Ctx) -> Notification:
    """A reminder to Anna that Telegram refused for good ("Forbidden"), marked failed."""
    anna = await make_user(ctx, "Анна", tg=101)
    await outbox.enqueue(ctx, kind="reminder", dedupe_key="r1", user_id=anna.id, payload={})
    await ctx.session.commit()
    (row,) = await outbox.claim(ctx)
    await outbox.mark_failed(ctx, notification_id=row.id, error="Forbidden", permanent=True)
    return row


async def test_a_failed_notification_gets_one_more_try_each_interval_for_a_day(
    ctx: Ctx, clock: FakeClock, refused: Notification
) -> None:
    options = HousekeepingOptions(
        outbox_retry_every=timedelta(hours=1), outbox_retry_for=timedelta(days=1)
    )
    clock.advance(minutes=59)
    assert await housekeeping.retry_failed_outbox(ctx, options=options) == 0
    clock.advance(minutes=1)
    assert await housekeeping.retry_failed_outbox(ctx, options=options) == 1
    (again,) = await outbox.claim(ctx)
    assert again.id == refused.id
    failed = await outbox.mark_failed(ctx, notification_id=refused.id, error="Forbidden")
    assert failed is not None
    assert failed.status == "failed"  # one attempt, not a whole new series
    clock.advance(days=1)
    assert await housekeeping.retry_failed_outbox(ctx, options=options) == 0  # too old now


async def test_a_notification_to_someone_who_blocked_the_bot_is_not_retried(
    ctx: Ctx, clock: FakeClock, refused: Notification
) -> None:
    await users.deactivate(ctx, actor=SYSTEM, user_id=refused.user_id)
    clock.advance(hours=2)
    assert await housekeeping.retry_failed_outbox(ctx) == 0


async def test_invites_that_expired_unused_are_deleted_after_the_grace(
    ctx: Ctx, clock: FakeClock
) -> None:
    await users.create_invite(ctx, actor=SYSTEM, role="sales", ttl_hours=1)
    used = await users.create_invite(ctx, actor=SYSTEM, role="sales", ttl_hours=1)
    await users.accept_invite(ctx, code=used.code, telegram_user_id=555, name="Пётр")
    options = HousekeepingOptions(invite_grace=timedelta(days=7))
    clock.advance(days=7)
    assert await housekeeping.purge_expired_invites(ctx, options=options) == 0
    clock.advance(hours=1, seconds=1)
    assert await housekeeping.purge_expired_invites(ctx, options=options) == 1
    assert list(await ctx.session.scalars(select(Invite.code))) == [used.code]


async def test_the_housekeeping_job_closes_a_call_stuck_ringing_unless_told_not_to(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock, ctx: Ctx
) -> None:
    now = clock.now()
    ctx.session.add(
        Call(
            provider="generic",
            provider_call_id="stuck-1",
            direction="in",
            status="ringing",
            client_e164="+79161234567",
            started_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    await ctx.session.commit()
    clock.advance(seconds=config.ringing_timeout_seconds + 1)
    off = Jobs(
        sessions=sessions, config=config, clock=clock, options=JobOptions(expire_ringing=False)
    )
    assert "stale_calls" not in await off.housekeeping()
    jobs = Jobs(sessions=sessions, config=config, clock=clock)
    done = await jobs.housekeeping()
    assert done["stale_calls"] == 1
    call = await ctx.session.scalar(select(Call).execution_options(populate_existing=True))
    assert call is not None
    assert (call.status, call.ended_at is not None) == ("missed", True)
    assert await ctx.session.scalar(select(func.count()).select_from(Notification)) == 0
