"""Planned work: plan, reschedule, complete, cancel, snooze, agenda per time zone, overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.activities import service as activities
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models import Activity
from tests.factories import make_user
from tests.fakes.clock import FakeClock

VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")  # UTC+10, no DST


async def test_plan_defaults_the_reminder_to_the_due_time_and_the_owner_to_the_actor(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    anna = Actor.of_user(await make_user(ctx, "Анна", "sales", 1))
    ivan = await contacts.create_contact(ctx, actor=anna, name="Иван", phones=[])
    due = clock.now() + timedelta(hours=3)
    task = await activities.plan(
        ctx, actor=anna, title=" Позвонить ", kind="call", due_at=due, contact_id=ivan.id
    )
    assert (task.title, task.kind, task.status) == ("Позвонить", "call", "planned")
    assert task.due_at == due
    assert task.remind_at == due
    assert task.owner_id == anna.user_id
    assert task.contact_id == ivan.id
    early = await activities.plan(
        ctx,
        actor=anna,
        title="Встреча",
        kind="meeting",
        due_at=due,
        remind_at=due - timedelta(minutes=30),
    )
    assert early.remind_at == due - timedelta(minutes=30)


async def test_plan_refuses_naive_times_unknown_kinds_and_empty_titles(
    ctx: Ctx, system: Actor
) -> None:
    naive = datetime(2026, 11, 27, 10, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(InvalidInput) as caught:
        await activities.plan(ctx, actor=system, title="Позвонить", due_at=naive)
    assert caught.value.field == "due_at"
    with pytest.raises(InvalidInput) as caught:
        await activities.plan(
            ctx, actor=system, title="Позвонить", due_at=naive.replace(tzinfo=UTC), remind_at=naive
        )
    assert caught.value.field == "remind_at"
    with pytest.raises(InvalidInput) as caught:
        await activities.plan(ctx, actor=system, title="Позвонить", kind="lunch")
    assert caught.value.field == "kind"
    with pytest.raises(InvalidInput) as caught:
        await activities.plan(ctx, actor=system, title="  ")
    assert caught.value.field == "title"


async def test_a_sales_person_plans_only_for_themselves_and_only_on_visible_contacts(
    ctx: Ctx, system: Actor
) -> None:
    anna = Actor.of_user(await make_user(ctx, "Анна", "sales", 1))
    boris = Actor.of_user(await make_user(ctx, "Борис", "sales", 2))
    boss = Actor.of_user(await make_user(ctx, "Ольга", "manager", 3))
    with pytest.raises(PermissionDenied):
        await activities.plan(ctx, actor=anna, title="Тебе", owner_id=boris.user_id)
    annas = await contacts.create_contact(ctx, actor=anna, name="Клиент", phones=[])
    with pytest.raises(InvalidInput) as caught:
        await activities.plan(ctx, actor=boris, title="Подсмотреть", contact_id=annas.id)
    assert caught.value.field == "contact_id"
    delegated = await activities.plan(ctx, actor=boss, title="Анне", owner_id=anna.user_id)
    assert delegated.owner_id == anna.user_id
    assert delegated.created_by_id == boss.user_id


async def test_reschedule_moves_due_and_reminder_and_rearms_the_reminder(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    task = await activities.plan(ctx, actor=system, title="Позвонить", due_at=clock.now())
    task.reminded_at = clock.now()
    await ctx.session.commit()
    later = clock.now() + timedelta(days=1)
    moved = await activities.reschedule(ctx, actor=system, activity_id=task.id, due_at=later)
    assert (moved.due_at, moved.remind_at, moved.reminded_at) == (later, later, None)
    remind = later - timedelta(hours=1)
    moved = await activities.reschedule(
        ctx, actor=system, activity_id=task.id, due_at=later, remind_at=remind
    )
    assert moved.remind_at == remind


async def test_reschedule_refuses_naive_times(
    ctx: Ctx, clock: FakeClock, system: Actor, sessions: async_sessionmaker[AsyncSession]
) -> None:
    task = await activities.plan(ctx, actor=system, title="Позвонить", due_at=clock.now())
    task_id, due = task.id, task.due_at
    naive = datetime(2026, 11, 27, 10, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(InvalidInput) as caught:
        await activities.reschedule(ctx, actor=system, activity_id=task_id, due_at=naive)
    assert caught.value.field == "due_at"
    with pytest.raises(InvalidInput) as caught:
        await activities.reschedule(
            ctx,
            actor=system,
            activity_id=task_id,
            due_at=naive.replace(tzinfo=UTC),
            remind_at=naive,
        )
    assert caught.value.field == "remind_at"
    await ctx.session.rollback()
    async with sessions() as fresh:
        row = await fresh.get(Activity, task_id)
        assert row is not None
        assert row.due_at == due


async def test_complete_records_the_result_and_completing_twice_is_refused(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    task = await activities.plan(ctx, actor=system, title="Позвонить", due_at=clock.now())
    clock.advance(minutes=10)
    done = await activities.complete(ctx, actor=system, activity_id=task.id, result="Договорились")
    assert (done.status, done.result, done.done_at) == ("done", "Договорились", clock.now())
    clock.advance(minutes=10)
    with pytest.raises(InvalidInput) as caught:
        await activities.complete(ctx, actor=system, activity_id=task.id, result="Ещё раз")
    assert "already done" in caught.value.message
    again = await activities.get(ctx, actor=system, activity_id=task.id)
    assert again.result == "Договорились"
    assert again.done_at == clock.now() - timedelta(minutes=10)
    for refused in (
        activities.cancel(ctx, actor=system, activity_id=task.id),
        activities.snooze(ctx, actor=system, activity_id=task.id, minutes=5),
        activities.reschedule(ctx, actor=system, activity_id=task.id, due_at=clock.now()),
    ):
        with pytest.raises(InvalidInput):
            await refused


async def test_cancel_closes_a_planned_activity_with_its_reason(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    task = await activities.plan(ctx, actor=system, title="Встреча", due_at=clock.now())
    canceled = await activities.cancel(
        ctx, actor=system, activity_id=task.id, reason="Клиент отменил"
    )
    assert (canceled.status, canceled.result, canceled.done_at) == (
        "canceled",
        "Клиент отменил",
        None,
    )
    with pytest.raises(InvalidInput):
        await activities.complete(ctx, actor=system, activity_id=task.id)


async def test_snooze_moves_only_the_reminder(ctx: Ctx, clock: FakeClock, system: Actor) -> None:
    due = clock.now() + timedelta(hours=1)
    task = await activities.plan(ctx, actor=system, title="Позвонить", due_at=due)
    clock.advance(minutes=59)
    snoozed = await activities.snooze(ctx, actor=system, activity_id=task.id, minutes=15)
    assert snoozed.remind_at == clock.now() + timedelta(minutes=15)
    assert snoozed.due_at == due
    assert snoozed.snooze_count == 1
    assert snoozed.reminded_at is None
    for bad in (0, -5, 60 * 24 * 31):
        with pytest.raises(InvalidInput):
            await activities.snooze(ctx, actor=system, activity_id=task.id, minutes=bad)


async def test_agenda_uses_the_users_own_time_zone(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    user = await make_user(ctx, "Анна", "sales", 1, timezone="Asia/Vladivostok")
    anna = Actor.of_user(user)

    async def at_local(hour: int, minute: int, day: int, title: str) -> Activity:
        due = datetime(2026, 11, day, hour, minute, tzinfo=VLADIVOSTOK)
        return await activities.plan(ctx, actor=anna, title=title, due_at=due)

    early = await at_local(0, 15, 26, "Рано утром 26-го")  # 25 Nov 14:15 UTC
    late = await at_local(23, 30, 26, "Поздно вечером 26-го")  # 26 Nov 13:30 UTC
    next_day = await at_local(0, 30, 27, "Ночью 27-го")  # 26 Nov 14:30 UTC
    await at_local(23, 59, 25, "Накануне")  # 25 Nov 13:59 UTC
    agenda = await activities.agenda(ctx, user=user, day=date(2026, 11, 26))
    assert [a.id for a in agenda] == [early.id, late.id]
    assert [a.id for a in await activities.agenda(ctx, user=user, day=date(2026, 11, 27))] == [
        next_day.id
    ]
    # "Today" is the user's today: 20:00 UTC on the 26th is already the 27th in Vladivostok.
    clock.set(datetime(2026, 11, 26, 20, 0, tzinfo=UTC))
    assert [a.id for a in await activities.agenda(ctx, user=user)] == [next_day.id]


async def test_agenda_lists_only_the_users_planned_work(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    anna_user = await make_user(ctx, "Анна", "sales", 1)
    boris_user = await make_user(ctx, "Борис", "sales", 2)
    anna, boris = Actor.of_user(anna_user), Actor.of_user(boris_user)
    soon = clock.now() + timedelta(hours=1)
    mine = await activities.plan(ctx, actor=anna, title="Моё", due_at=soon)
    done = await activities.plan(ctx, actor=anna, title="Сделано", due_at=soon)
    await activities.complete(ctx, actor=anna, activity_id=done.id)
    await activities.plan(ctx, actor=boris, title="Чужое", due_at=soon)
    await activities.plan(ctx, actor=anna, title="Без срока")
    assert [a.id for a in await activities.agenda(ctx, user=anna_user)] == [mine.id]


async def test_overdue_is_own_for_sales_and_everyones_for_a_manager(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    anna = Actor.of_user(await make_user(ctx, "Анна", "sales", 1))
    boris = Actor.of_user(await make_user(ctx, "Борис", "sales", 2))
    boss = Actor.of_user(await make_user(ctx, "Ольга", "manager", 3))
    start = clock.now()
    annas_late = await activities.plan(ctx, actor=anna, title="А", due_at=start)
    boris_late = await activities.plan(
        ctx, actor=boris, title="Б", due_at=start + timedelta(minutes=1)
    )
    await activities.plan(ctx, actor=anna, title="Ещё не", due_at=start + timedelta(hours=5))
    finished = await activities.plan(ctx, actor=anna, title="Готово", due_at=start)
    await activities.complete(ctx, actor=anna, activity_id=finished.id)
    await activities.plan(ctx, actor=anna, title="Без срока")
    clock.advance(hours=1)
    assert [a.id for a in await activities.overdue(ctx, actor=anna)] == [annas_late.id]
    assert [a.id for a in await activities.overdue(ctx, actor=boris)] == [boris_late.id]
    assert [a.id for a in await activities.overdue(ctx, actor=boss)] == [
        annas_late.id,
        boris_late.id,
    ]
    assert [a.id for a in await activities.overdue(ctx, actor=boss, owner_id=boris.user_id)] == [
        boris_late.id
    ]
    # A sales person asking for someone else's list still gets their own.
    assert [a.id for a in await activities.overdue(ctx, actor=anna, owner_id=boris.user_id)] == [
        annas_late.id
    ]


async def test_someone_elses_activity_is_not_found_for_a_sales_person(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    anna = Actor.of_user(await make_user(ctx, "Анна", "sales", 1))
    boris = Actor.of_user(await make_user(ctx, "Борис", "sales", 2))
    task = await activities.plan(ctx, actor=anna, title="Моё", due_at=clock.now())
    with pytest.raises(NotFound):
        await activities.complete(ctx, actor=boris, activity_id=task.id)
    with pytest.raises(NotFound):
        await activities.get(ctx, actor=boris, activity_id=task.id)
    page = await activities.list_activities(ctx, actor=boris)
    assert (page.items, page.total) == ([], 0)
    assert (await activities.list_activities(ctx, actor=anna)).total == 1


async def test_activities_of_a_number_are_its_contacts_in_any_format(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    ivan = await contacts.create_contact(
        ctx, actor=system, name="Иван", phones=["+79161234567", "+74951112233"]
    )
    other = await contacts.create_contact(ctx, actor=system, name="Пётр", phones=["+79160000000"])
    due = clock.now() + timedelta(hours=1)
    mine = await activities.plan(ctx, actor=system, title="Счёт", due_at=due, contact_id=ivan.id)
    await activities.plan(ctx, actor=system, title="Не его", due_at=due, contact_id=other.id)
    await activities.plan(ctx, actor=system, title="Без контакта", due_at=due)
    for written in ("8 (495) 111-22-33", "+7 916 123 45 67", "89161234567"):
        page = await activities.list_activities(ctx, actor=system, phone=written)
        assert [a.id for a in page.items] == [mine.id], written
    with pytest.raises(InvalidInput) as refused:
        await activities.list_activities(ctx, actor=system, phone="101")
    assert refused.value.field == "phone"
