"""Reminders: on the minute, once per remind_at, again after snooze or reschedule, late ones
marked; overdue missed-call callbacks remind the owner again and tell the manager once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.activities import reminders
from core.activities import service as activities
from core.activities.reminders import ReminderOptions
from core.clock import SystemClock
from core.config import CoreConfig
from core.context import Actor, Ctx
from core.models import Activity
from scheduler.jobs import JobOptions, Jobs
from tests.fakes.clock import FakeClock
from tests.scheduler.helpers import make_user, outbox, payloads


async def test_a_due_reminder_goes_out_once_to_its_owner(ctx: Ctx, clock: FakeClock) -> None:
    anna = await make_user(ctx, "Анна", tg=101)
    task = await activities.plan(
        ctx,
        actor=Actor.of_user(anna),
        title="Позвонить",
        due_at=clock.now() + timedelta(minutes=10),
    )
    assert await reminders.send_due(ctx) == 0
    clock.advance(minutes=9, seconds=59)
    assert await reminders.send_due(ctx) == 0
    clock.advance(seconds=1)
    assert await reminders.send_due(ctx) == 1
    assert await reminders.send_due(ctx) == 0
    clock.advance(minutes=5)
    assert await reminders.send_due(ctx) == 0
    sent = await outbox(ctx, "reminder")
    assert [(n.user_id, n.chat_id) for n in sent] == [(anna.id, 101)]
    assert payloads(sent) == [{"activity_id": task.id, "late": False}]
    assert sent[0].dedupe_key == reminders.reminder_key(task.id, task.due_at)  # type: ignore[arg-type]


async def test_a_snoozed_activity_is_reminded_again_at_its_new_time(
    ctx: Ctx, clock: FakeClock
) -> None:
    anna = await make_user(ctx, "Анна", tg=101)
    actor = Actor.of_user(anna)
    task = await activities.plan(ctx, actor=actor, title="Позвонить", due_at=clock.now())
    assert await reminders.send_due(ctx) == 1
    await activities.snooze(ctx, actor=actor, activity_id=task.id, minutes=15)
    clock.advance(minutes=14)
    assert await reminders.send_due(ctx) == 0
    clock.advance(minutes=1)
    assert await reminders.send_due(ctx) == 1
    assert await reminders.send_due(ctx) == 0
    sent = await outbox(ctx, "reminder")
    assert len(sent) == 2
    assert len({n.dedupe_key for n in sent}) == 2
    assert payloads(sent) == [{"activity_id": task.id, "late": False}] * 2


async def test_a_rescheduled_activity_is_reminded_at_the_new_time_only(
    ctx: Ctx, clock: FakeClock
) -> None:
    anna = await make_user(ctx, "Анна", tg=101)
    actor = Actor.of_user(anna)
    task = await activities.plan(
        ctx, actor=actor, title="Встреча", due_at=clock.now() + timedelta(hours=1)
    )
    await activities.reschedule(
        ctx, actor=actor, activity_id=task.id, due_at=clock.now() + timedelta(days=1)
    )
    clock.advance(hours=1)
    assert await reminders.send_due(ctx) == 0
    clock.advance(hours=23)
    assert await reminders.send_due(ctx) == 1
    # Moved again after it was reminded: reminded again, at the new time.
    await activities.reschedule(
        ctx, actor=actor, activity_id=task.id, due_at=clock.now() + timedelta(hours=2)
    )
    clock.advance(hours=2)
    assert await reminders.send_due(ctx) == 1
    assert len(await outbox(ctx, "reminder")) == 2


async def test_remind_at_moved_by_any_edit_is_reminded_again(ctx: Ctx, clock: FakeClock) -> None:
    anna = await make_user(ctx, "Анна", tg=101)
    task = await activities.plan(
        ctx, actor=Actor.of_user(anna), title="Позвонить", due_at=clock.now()
    )
    assert await reminders.send_due(ctx) == 1
    later = clock.now() + timedelta(minutes=30)
    # An edit that moves remind_at without clearing reminded_at (e.g. a direct API patch).
    await ctx.session.execute(
        update(Activity).where(Activity.id == task.id).values(remind_at=later)
    )
    await ctx.session.commit()
    clock.advance(minutes=30)
    assert await reminders.send_due(ctx) == 1


async def test_reminders_that_fell_due_while_down_go_out_marked_late(
    ctx: Ctx, clock: FakeClock
) -> None:
    anna = await make_user(ctx, "Анна", tg=101)
    actor = Actor.of_user(anna)
    start = clock.now()
    missed = [
        await activities.plan(
            ctx, actor=actor, title=f"Задача {n}", due_at=start + timedelta(minutes=n)
        )
        for n in (1, 2, 3)
    ]
    on_time = await activities.plan(
        ctx, actor=actor, title="Сейчас", due_at=start + timedelta(hours=3)
    )
    clock.advance(hours=3, seconds=30)  # Perezvon was down for three hours
    options = ReminderOptions(late_after=timedelta(minutes=2), batch_size=2)
    assert await reminders.send_due(ctx, options=options) == 2  # oldest first, in batches
    assert await reminders.send_due(ctx, options=options) == 2
    late = {n.payload["activity_id"]: n.payload["late"] for n in await outbox(ctx, "reminder")}
    assert late == {**{task.id: True for task in missed}, on_time.id: False}


async def test_done_canceled_and_ownerless_activities_send_nothing(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    anna = await make_user(ctx, "Анна", tg=101)
    no_telegram = await make_user(ctx, "Пётр")
    actor = Actor.of_user(anna)
    done = await activities.plan(ctx, actor=actor, title="a", due_at=clock.now())
    canceled = await activities.plan(ctx, actor=actor, title="b", due_at=clock.now())
    await activities.complete(ctx, actor=actor, activity_id=done.id)
    await activities.cancel(ctx, actor=actor, activity_id=canceled.id)
    await activities.plan(ctx, actor=system, title="c", due_at=clock.now(), owner_id=no_telegram.id)
    await activities.plan(ctx, actor=system, title="d", due_at=clock.now())
    clock.advance(minutes=1)
    assert await reminders.send_due(ctx) == 2  # the two open ones are stamped
    assert await reminders.send_due(ctx) == 0
    assert await outbox(ctx) == []


async def _callback(ctx: Ctx, owner_id: int, due: timedelta, clock: FakeClock) -> Activity:
    now = clock.now()
    task = Activity(
        kind="callback",
        title="Перезвонить: +79161234567",
        due_at=now + due,
        remind_at=now + due,
        owner_id=owner_id,
        status="planned",
        source="missed_call",
        callback_phone="+79161234567",
        missed_count=1,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(task)
    await ctx.session.commit()
    return task


async def test_an_overdue_callback_reminds_the_owner_again_and_tells_the_on_duty_manager_once(
    ctx: Ctx, clock: FakeClock
) -> None:
    anna = await make_user(ctx, "Анна", tg=101)
    await make_user(ctx, "Менеджер 1", role="manager", tg=201)
    duty = await make_user(ctx, "Дежурный", role="manager", tg=202)
    options = ReminderOptions(on_duty_manager_id=duty.id)
    sla = timedelta(minutes=ctx.config.callback_sla_minutes)
    task = await _callback(ctx, anna.id, sla, clock)
    clock.advance(minutes=ctx.config.callback_sla_minutes)
    assert await reminders.send_due(ctx, options=options) == 1  # the first reminder, at due
    assert await reminders.escalate_overdue_callbacks(ctx, options=options) == 0
    clock.advance(minutes=ctx.config.callback_sla_minutes - 1)
    assert await reminders.escalate_overdue_callbacks(ctx, options=options) == 0
    clock.advance(minutes=1)
    assert await reminders.escalate_overdue_callbacks(ctx, options=options) == 1
    clock.advance(hours=5)
    assert await reminders.escalate_overdue_callbacks(ctx, options=options) == 0
    overdue = await outbox(ctx, "callback_overdue")
    assert [(n.user_id, n.payload) for n in overdue] == [(anna.id, {"activity_id": task.id})]
    told = await outbox(ctx, "callback_escalation")
    assert [(n.user_id, n.payload) for n in told] == [
        (duty.id, {"activity_id": task.id, "owner_id": anna.id})
    ]


async def test_without_an_on_duty_manager_every_manager_is_told(ctx: Ctx, clock: FakeClock) -> None:
    anna = await make_user(ctx, "Анна", tg=101)
    first = await make_user(ctx, "Менеджер 1", role="manager", tg=201)
    second = await make_user(ctx, "Менеджер 2", role="manager", tg=202)
    await make_user(ctx, "Админ", role="admin", tg=301)
    task = await _callback(ctx, anna.id, timedelta(0), clock)
    clock.advance(minutes=ctx.config.callback_sla_minutes)
    assert await reminders.escalate_overdue_callbacks(ctx) == 1
    told = await outbox(ctx, "callback_escalation")
    assert sorted(n.user_id for n in told if n.user_id) == sorted([first.id, second.id])
    assert {n.payload["activity_id"] for n in told} == {task.id}


async def test_a_reminder_already_in_the_outbox_is_not_added_twice(
    ctx: Ctx, clock: FakeClock
) -> None:
    anna = await make_user(ctx, "Анна", tg=101)
    task = await activities.plan(
        ctx, actor=Actor.of_user(anna), title="Позвонить", due_at=clock.now()
    )
    assert await reminders.send_due(ctx) == 1
    # The stamp lost (say, restored from a backup taken in between): claimed again...
    await ctx.session.execute(
        update(Activity).where(Activity.id == task.id).values(reminded_at=None)
    )
    await ctx.session.commit()
    assert await reminders.send_due(ctx) == 1
    # ...but the dedupe key, which carries remind_at, keeps it to one message.
    assert len(await outbox(ctx, "reminder")) == 1


async def test_a_reminder_falling_due_before_the_next_tick_goes_out_when_it_falls_due(
    ctx: Ctx, sessions: async_sessionmaker[AsyncSession], config: CoreConfig
) -> None:
    """With a look-ahead, a tick waits for the reminders falling due within it and sends each
    at its time: not up to an interval late (issue 20: lateness p99 under a second)."""
    real = SystemClock()
    anna = await make_user(ctx, "Анна", tg=101)
    task = await activities.plan(
        ctx, actor=Actor.of_user(anna), title="Позвонить", due_at=real.now()
    )
    await ctx.session.execute(
        update(Activity)
        .where(Activity.id == task.id)
        .values(remind_at=real.now() + timedelta(seconds=0.4))
    )
    await ctx.session.commit()
    options = JobOptions(reminders=ReminderOptions(look_ahead=timedelta(seconds=0.8)))
    jobs = Jobs(sessions=sessions, config=config, clock=real, options=options)
    assert await jobs.reminders() == 1  # the tick: not due at its start, sent within it
    (sent,) = await outbox(ctx, "reminder")
    await ctx.session.refresh(task)
    assert task.remind_at is not None and sent.created_at >= task.remind_at
    assert sent.created_at - task.remind_at < timedelta(seconds=0.3)
    # Nothing falls due within the next look-ahead: the tick ends at once.
    began = real.now()
    assert await jobs.reminders() == 0
    assert real.now() - began < timedelta(seconds=0.5)
