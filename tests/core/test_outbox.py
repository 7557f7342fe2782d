"""Notifications outbox: dedupe, claim, sent, retries with exponential backoff, giving up."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.context import Actor, Ctx
from core.models import Notification
from core.outbox import service as outbox
from core.users import service as users
from tests.fakes.clock import FakeClock


async def put(ctx: Ctx, key: str, **kw: object) -> bool:
    added = await outbox.enqueue(
        ctx, kind="reminder", dedupe_key=key, payload={"text": key}, chat_id=1000, **kw
    )  # type: ignore[arg-type]
    await ctx.session.commit()
    return added


async def rows(session: AsyncSession) -> list[Notification]:
    return list(await session.scalars(select(Notification).order_by(Notification.id)))


async def test_enqueue_with_a_known_dedupe_key_is_a_no_op(ctx: Ctx, system: Actor) -> None:
    user = await users.create_user(ctx, actor=system, name="Анна", role="sales", telegram_user_id=1)
    assert await outbox.enqueue(
        ctx, kind="reminder", dedupe_key="act:1", payload={"n": 1}, user_id=user.id
    )
    # Twice in the same unit of work, and again after the commit.
    assert not await outbox.enqueue(
        ctx, kind="reminder", dedupe_key="act:1", payload={"n": 2}, user_id=user.id
    )
    await ctx.session.commit()
    assert not await outbox.enqueue(
        ctx, kind="reminder", dedupe_key="act:1", payload={"n": 3}, user_id=user.id
    )
    await ctx.session.commit()
    stored = await rows(ctx.session)
    assert len(stored) == 1
    assert stored[0].payload == {"n": 1}
    assert (stored[0].status, stored[0].attempts, stored[0].user_id) == ("pending", 0, user.id)


async def test_enqueue_needs_someone_to_deliver_to(ctx: Ctx) -> None:
    with pytest.raises(ValueError, match="user or a chat"):
        await outbox.enqueue(ctx, kind="reminder", dedupe_key="k", payload={})


async def test_enqueue_is_part_of_the_callers_unit_of_work(
    ctx: Ctx, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert await outbox.enqueue(ctx, kind="reminder", dedupe_key="k", payload={}, chat_id=1)
    await ctx.session.rollback()
    async with sessions() as fresh:
        assert await rows(fresh) == []


async def test_claim_takes_due_rows_once_until_the_claim_expires(
    ctx: Ctx, clock: FakeClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for key in ("a", "b", "c"):
        assert await put(ctx, key)
        clock.advance(seconds=1)
    assert await put(ctx, "later", not_before=clock.now() + timedelta(hours=1))
    first = await outbox.claim(ctx, limit=2)
    assert [n.dedupe_key for n in first] == ["a", "b"]
    assert {n.attempts for n in first} == {1}
    # Another worker, in its own session, gets only what is left.
    other = Ctx(session=sessions(), config=ctx.config, clock=clock)
    try:
        second = await outbox.claim(other, limit=10)
        assert [n.dedupe_key for n in second] == ["c"]
        assert await outbox.claim(other, limit=10) == []
        clock.advance(seconds=outbox.CLAIM_SECONDS - 5)
        assert await outbox.claim(other, limit=10) == []
        # The first worker died: its claims expire and are taken again.
        clock.advance(seconds=10)
        retaken = await outbox.claim(other, limit=10)
        assert [n.dedupe_key for n in retaken] == ["a", "b", "c"]
        assert [n.attempts for n in retaken] == [2, 2, 2]
    finally:
        await other.session.close()


async def test_a_notification_is_not_claimed_before_its_time(ctx: Ctx, clock: FakeClock) -> None:
    assert await put(ctx, "later", not_before=clock.now() + timedelta(minutes=30))
    assert await outbox.claim(ctx) == []
    clock.advance(minutes=30)
    assert [n.dedupe_key for n in await outbox.claim(ctx)] == ["later"]


async def test_a_sent_notification_is_never_sent_again(
    ctx: Ctx, clock: FakeClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert await put(ctx, "a")
    (claimed,) = await outbox.claim(ctx)
    clock.advance(seconds=3)
    await outbox.mark_sent(ctx, notification_id=claimed.id)
    clock.advance(days=1)
    assert await outbox.claim(ctx) == []
    async with sessions() as fresh:
        (row,) = await rows(fresh)
        assert (row.status, row.sent_at, row.claimed_until) == (
            "sent",
            clock.now() - timedelta(days=1),
            None,
        )
    # A new message with the same key is still a duplicate.
    assert not await put(ctx, "a")


async def test_failure_retries_with_exponential_backoff(ctx: Ctx, clock: FakeClock) -> None:
    assert await put(ctx, "a")
    delays = []
    for _ in range(4):
        (claimed,) = await outbox.claim(ctx)
        failed = await outbox.mark_failed(ctx, notification_id=claimed.id, error="Telegram 502")
        assert failed is not None
        assert failed.status == "pending"
        assert failed.last_error == "Telegram 502"
        assert failed.claimed_until is None
        delay = failed.next_attempt_at - clock.now()
        delays.append(delay.total_seconds())
        clock.advance(seconds=delay.total_seconds() - 1)
        assert await outbox.claim(ctx) == [], "claimed before its backoff ended"
        clock.advance(seconds=1)
    assert delays == [10, 20, 40, 80]


async def test_backoff_is_capped_at_an_hour() -> None:
    assert outbox.backoff(1) == timedelta(seconds=10)
    assert outbox.backoff(5) == timedelta(seconds=160)
    assert outbox.backoff(30) == timedelta(hours=1)


async def test_a_retry_after_from_telegram_wins_over_the_backoff(
    ctx: Ctx, clock: FakeClock
) -> None:
    assert await put(ctx, "a")
    (claimed,) = await outbox.claim(ctx)
    failed = await outbox.mark_failed(
        ctx, notification_id=claimed.id, error="429 Too Many Requests", retry_after=37
    )
    assert failed is not None
    assert failed.next_attempt_at == clock.now() + timedelta(seconds=37)


async def test_gives_up_after_the_configured_number_of_attempts(ctx: Ctx, clock: FakeClock) -> None:
    strict = replace(ctx, config=replace(ctx.config, outbox_max_attempts=3))
    assert await put(strict, "a")
    for attempt in (1, 2, 3):
        (claimed,) = await outbox.claim(strict)
        assert claimed.attempts == attempt
        failed = await outbox.mark_failed(strict, notification_id=claimed.id, error="down")
        assert failed is not None
        assert failed.status == ("failed" if attempt == 3 else "pending")
        clock.advance(hours=2)
    assert await outbox.claim(strict) == []
    (row,) = await rows(strict.session)
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "down")


async def test_a_permanent_failure_gives_up_at_once(ctx: Ctx, clock: FakeClock) -> None:
    assert await put(ctx, "a")
    (claimed,) = await outbox.claim(ctx)
    failed = await outbox.mark_failed(
        ctx, notification_id=claimed.id, error="403 bot was blocked by the user", permanent=True
    )
    assert failed is not None
    assert failed.status == "failed"
    clock.advance(days=1)
    assert await outbox.claim(ctx) == []
    assert await outbox.mark_failed(ctx, notification_id=9999, error="x") is None
    total = await ctx.session.scalar(select(func.count()).select_from(Notification))
    assert total == 1
