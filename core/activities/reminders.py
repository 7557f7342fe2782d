"""Reminders: due activities become `reminder` notifications, once per remind_at.

1. Claim and stamp, in one UPDATE … RETURNING, a batch of planned activities whose
   `remind_at` has come and that were not reminded for that `remind_at` (`reminded_at` is
   empty or earlier: snooze and reschedule move `remind_at` and clear the stamp). On
   PostgreSQL the rows are picked with SKIP LOCKED, so any number of scheduler instances
   split the work and none takes a row another holds.
2. Enqueue `reminder` {activity_id, late} to the owner; the dedupe key carries `remind_at`,
   so a snoozed activity is reminded again and the same time is never sent twice.
3. One commit per batch makes the stamps and the messages one fact.

Overdue missed-call callbacks (still planned one SLA past their due time) remind their
owner again (`callback_overdue`) and tell the on-duty manager once (`callback_escalation`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, text, update
from sqlalchemy.sql.dml import ReturningUpdate

from core.activities.models import REMINDER_DUE, Activity
from core.context import Ctx
from core.outbox import service as outbox
from core.telemetry import telemetry
from core.users import duty
from core.users.models import User


@dataclass(frozen=True)
class ReminderOptions:
    """How the reminders job behaves (built from the settings by the composition root)."""

    late_after: timedelta = timedelta(minutes=2)
    batch_size: int = 500
    on_duty_manager_id: int | None = None
    # After a tick, reminders falling due within this much go out when they fall due instead
    # of at the next tick (scheduler.jobs.Jobs.reminders): a share of the job's interval.
    look_ahead: timedelta = timedelta(0)


def _claim(
    ctx: Ctx, picked: Select[tuple[int]], **stamp: datetime
) -> ReturningUpdate[tuple[int, int | None, datetime | None]]:
    """Stamp the picked rows and return them, in one statement.

    Writing first means SQLite takes its write lock at once (a read that later writes can
    fail when another writer committed in between); on PostgreSQL the picked rows are
    locked with SKIP LOCKED, so instances split the work and never wait for each other.
    """
    if ctx.session.bind is not None and ctx.session.bind.dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    return (
        update(Activity)
        .where(Activity.id.in_(picked.scalar_subquery()))
        .values(**stamp)
        .returning(Activity.id, Activity.owner_id, Activity.remind_at)
        .execution_options(synchronize_session=False)
    )


async def _recipients(ctx: Ctx, user_ids: Iterable[int | None]) -> dict[int, User]:
    """Active users with a Telegram account, by id."""
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return {}
    rows = await ctx.session.scalars(
        select(User).where(
            User.id.in_(wanted), User.active.is_(True), User.telegram_user_id.is_not(None)
        )
    )
    return {user.id: user for user in rows}


def reminder_key(activity_id: int, remind_at: datetime) -> str:
    """The dedupe key of one reminder: the activity and the time it was due."""
    return f"reminder:{activity_id}:{remind_at.isoformat()}"


async def send_due(ctx: Ctx, *, options: ReminderOptions = ReminderOptions()) -> int:
    """Enqueue one batch of due reminders and stamp them; returns how many were claimed."""
    now = ctx.clock.now()
    # The literal predicate matches the partial index ix_activities_reminder_due.
    picked = (
        select(Activity.id)
        .where(text(REMINDER_DUE), Activity.remind_at <= now)
        .order_by(Activity.remind_at, Activity.id)
        .limit(options.batch_size)
    )
    # A read first, in its own transaction: an idle tick never takes SQLite's write lock.
    anything = await ctx.session.scalar(picked.limit(1))
    await ctx.session.commit()
    if anything is None:
        return 0
    due = (await ctx.session.execute(_claim(ctx, picked, reminded_at=now))).tuples().all()
    if not due:
        await ctx.session.commit()
        return 0
    owners = await _recipients(ctx, (owner_id for _, owner_id, _ in due))
    messages: list[dict[str, Any]] = []
    lateness: list[float] = []
    for activity_id, owner_id, remind_at in due:
        assert remind_at is not None
        owner = owners.get(owner_id) if owner_id is not None else None
        if owner is not None:
            lateness.append((now - remind_at).total_seconds())
            late = now - remind_at > options.late_after
            messages.append(
                {
                    "dedupe_key": reminder_key(activity_id, remind_at),
                    "user_id": owner.id,
                    "chat_id": owner.telegram_user_id,
                    "payload": {"activity_id": activity_id, "late": late},
                }
            )
    # Multi-row statements of 500 rows stay far below SQLite's cap on bound parameters.
    for start in range(0, len(messages), 500):
        await outbox.enqueue_many(ctx, kind="reminder", messages=messages[start : start + 500])
    await ctx.session.commit()  # the stamps and the messages: one fact
    for seconds in lateness:
        telemetry().reminder_due(seconds)
    return len(due)


async def next_due_at(ctx: Ctx, *, until: datetime) -> datetime | None:
    """When the next reminder not yet sent falls due, if no later than `until` (one probe of
    the partial index ix_activities_reminder_due)."""
    found: datetime | None = await ctx.session.scalar(
        select(Activity.remind_at)
        .where(text(REMINDER_DUE), Activity.remind_at <= until)
        .order_by(Activity.remind_at)
        .limit(1)
    )
    return found


async def _managers(ctx: Ctx, options: ReminderOptions) -> list[User]:
    """The on-duty manager from the settings; else every active manager (else admins)."""
    if options.on_duty_manager_id is not None:
        chosen = await _recipients(ctx, [options.on_duty_manager_id])
        if chosen:
            return list(chosen.values())
    return await duty.first_staffed_role(ctx, ("manager", "admin"))


async def escalate_overdue_callbacks(
    ctx: Ctx, *, options: ReminderOptions = ReminderOptions(), kind: str = "callback"
) -> int:
    """Callbacks still open one SLA past due: remind the owner, tell the manager; once each.

    `kind="reply"`: the same for "reply to the client" tasks, with the chat SLA
    (core.conversations.sla)."""
    now = ctx.clock.now()
    sla = ctx.config.chat_sla_minutes if kind == "reply" else ctx.config.callback_sla_minutes
    cutoff = now - timedelta(minutes=sla)
    picked = (
        select(Activity.id)
        .where(
            Activity.kind == kind,
            Activity.status == "planned",
            Activity.escalated_at.is_(None),
            Activity.due_at <= cutoff,
        )
        .order_by(Activity.due_at, Activity.id)
        .limit(options.batch_size)
    )
    overdue = (await ctx.session.execute(_claim(ctx, picked, escalated_at=now))).tuples().all()
    if not overdue:
        await ctx.session.commit()
        return 0
    owners = await _recipients(ctx, (owner_id for _, owner_id, _ in overdue))
    managers = await _managers(ctx, options)
    for activity_id, owner_id, _ in overdue:
        owner = owners.get(owner_id) if owner_id is not None else None
        if owner is not None:
            await outbox.notify(
                ctx, owner, "callback_overdue", activity_id, payload={"activity_id": activity_id}
            )
        for manager in managers:
            if manager.id == owner_id:
                continue
            payload = {"activity_id": activity_id, "owner_id": owner_id}
            await outbox.notify(
                ctx, manager, "callback_escalation", activity_id, manager.id, payload=payload
            )
    await ctx.session.commit()
    return len(overdue)
