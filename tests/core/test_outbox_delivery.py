"""Outbox services the bot's sender relies on: claim by kind, give back, skip, blocked users."""

from __future__ import annotations

from sqlalchemy import select

from core.context import Actor, Ctx
from core.models import AuditLog, Notification, User
from core.outbox import service as outbox
from core.users import service as users
from tests.fakes.clock import FakeClock


async def put(ctx: Ctx, key: str, kind: str = "reminder", **kw: object) -> int:
    await outbox.enqueue(ctx, kind=kind, dedupe_key=key, payload={}, chat_id=1, **kw)  # type: ignore[arg-type]
    await ctx.session.commit()
    row = await ctx.session.scalar(select(Notification).where(Notification.dedupe_key == key))
    assert row is not None
    return row.id


async def test_claim_by_kind_takes_only_those_kinds(ctx: Ctx) -> None:
    await put(ctx, "digest", kind="digest")
    await put(ctx, "ring", kind="incoming_call")

    urgent = await outbox.claim(ctx, kinds=["incoming_call", "post_call"])
    rest = await outbox.claim(ctx)

    assert [r.kind for r in urgent] == ["incoming_call"]
    assert [r.kind for r in rest] == ["digest"]


async def test_deferred_rows_come_back_at_the_given_time_with_the_claim_uncounted(
    ctx: Ctx, clock: FakeClock
) -> None:
    row_id = await put(ctx, "a")
    [claimed] = await outbox.claim(ctx)
    assert claimed.attempts == 1

    await outbox.defer(ctx, notification_ids=[row_id], until=clock.now() + _seconds(5))
    assert await outbox.claim(ctx) == []
    clock.advance(seconds=5)
    [again] = await outbox.claim(ctx)

    assert (again.id, again.attempts) == (row_id, 1)


async def test_transient_failures_never_use_up_attempts(ctx: Ctx, clock: FakeClock) -> None:
    row_id = await put(ctx, "a")
    for _ in range(ctx.config.outbox_max_attempts + 3):
        assert len(await outbox.claim(ctx)) == 1
        await outbox.mark_failed(
            ctx, notification_id=row_id, error="network", retry_after=1, transient=True
        )
        clock.advance(seconds=1)

    stored = await ctx.session.get(Notification, row_id, populate_existing=True)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.last_error) == ("pending", 0, "network")


async def test_skipped_and_sent_rows_are_never_claimed_again(ctx: Ctx) -> None:
    first, second, third = [await put(ctx, key) for key in ("a", "b", "c")]
    await outbox.claim(ctx)

    await outbox.mark_skipped(ctx, notification_id=first, reason="no recipient")
    await outbox.mark_all_sent(ctx, notification_ids=[second, third])
    rows = list(await ctx.session.scalars(select(Notification).order_by(Notification.id)))

    assert [r.status for r in rows] == ["skipped", "sent", "sent"]
    assert all(r.claimed_until is None for r in rows)


async def test_a_blocked_recipient_fails_the_row_and_is_deactivated_with_an_audit_entry(
    ctx: Ctx, system: Actor
) -> None:
    user = await users.create_user(ctx, actor=system, name="Анна", role="sales", telegram_user_id=9)
    row_id = await put(ctx, "a", user_id=user.id)

    assert await outbox.mark_blocked(ctx, notification_id=row_id, error="Forbidden") == user.id

    row = await ctx.session.get(Notification, row_id)
    anna = await ctx.session.get(User, user.id)
    assert row is not None and anna is not None
    assert (row.status, anna.active) == ("failed", False)
    audit = await ctx.session.scalar(select(AuditLog).where(AuditLog.action == "deactivate"))
    assert audit is not None and audit.actor_label == "telegram"


def _seconds(value: float) -> object:
    from datetime import timedelta

    return timedelta(seconds=value)
