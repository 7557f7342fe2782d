"""The team never loses its last admin; roles and access change audited, undoable; joins and
hand-overs are told through the outbox; role names as people type them; workloads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.activities import service as activities
from core.calls import escalations
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.errors import InvalidInput, PermissionDenied
from core.models import AuditLog, Notification
from core.users import service as users
from tests.factories import make_user
from tests.fakes.clock import FakeClock


async def test_the_last_active_admin_can_be_neither_demoted_nor_disabled(ctx: Ctx) -> None:
    admin = await make_user(ctx, "Анна", "admin", 1)
    me, admin_id = Actor.of_user(admin), admin.id
    with pytest.raises(users.LastAdmin):
        await users.set_role(ctx, actor=me, user_id=admin_id, role="manager")
    with pytest.raises(users.LastAdmin):
        await users.update_profile(ctx, actor=me, user_id=admin_id, role="sales")
    with pytest.raises(users.LastAdmin):
        await users.deactivate(ctx, actor=Actor.system("cli"), user_id=admin_id)
    await ctx.session.rollback()
    again = await users.get_user(ctx, user_id=admin_id)
    assert (again.role, again.active) == ("admin", True)


async def test_with_a_second_admin_the_first_may_step_down_and_it_is_audited(ctx: Ctx) -> None:
    first = await make_user(ctx, "Анна", "admin", 1)
    second = await make_user(ctx, "Борис", "admin", 2)
    changed = await users.set_role(ctx, actor=Actor.of_user(first), user_id=first.id, role="sales")
    assert changed.role == "sales"
    with pytest.raises(users.LastAdmin):
        await users.deactivate(ctx, actor=Actor.system("cli"), user_id=second.id)
    entry = await ctx.session.scalar(
        select(AuditLog)
        .where(AuditLog.entity == "user", AuditLog.entity_id == first.id)
        .order_by(AuditLog.id.desc())
    )
    assert entry is not None and entry.changes["role"] == {"from": "admin", "to": "sales"}


async def test_a_disabled_admin_does_not_count_and_a_disabled_user_can_be_enabled(
    ctx: Ctx,
) -> None:
    first = await make_user(ctx, "Анна", "admin", 1)
    second = await make_user(ctx, "Борис", "admin", 2)
    seller = await make_user(ctx, "Вера", "sales", 3)
    boss, first_id, second_id, seller_id = Actor.of_user(first), first.id, second.id, seller.id
    await users.deactivate(ctx, actor=boss, user_id=second_id)
    with pytest.raises(users.LastAdmin):
        await users.set_role(ctx, actor=Actor.system("cli"), user_id=first_id, role="manager")
    await ctx.session.rollback()
    seller = await users.get_user(ctx, user_id=seller_id)
    await users.deactivate(ctx, actor=boss, user_id=seller.id)
    back = await users.activate(ctx, actor=boss, user_id=seller.id)
    assert back.active is True and back.role == "sales"
    actions = list(
        await ctx.session.scalars(
            select(AuditLog.action).where(
                AuditLog.entity_id == seller.id, AuditLog.entity == "user"
            )
        )
    )
    assert actions[-2:] == ["deactivate", "activate"]
    with pytest.raises(PermissionDenied):
        await users.activate(ctx, actor=Actor.of_user(back), user_id=second_id)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("продавец", "sales"),
        ("Менеджер", "manager"),
        ("руководитель", "manager"),
        ("админ", "admin"),
        ("Administrator", "admin"),
        ("sales", "sales"),
    ],
)
def test_role_names_are_read_as_people_type_them(typed: str, code: str) -> None:
    assert users.parse_role(typed) == code


def test_an_unknown_role_name_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidInput, match="admin, manager, sales"):
        users.parse_role("boss")


async def test_a_join_is_told_to_every_active_admin_in_the_same_unit_of_work(ctx: Ctx) -> None:
    admin = await make_user(ctx, "Анна", "admin", 1)
    gone = await make_user(ctx, "Олег", "admin", 2)
    await users.deactivate(ctx, actor=Actor.of_user(admin), user_id=gone.id)
    invite = await users.create_invite(ctx, actor=Actor.of_user(admin), role="sales")
    joined = await users.accept_invite(ctx, code=invite.code, telegram_user_id=77, name="Лев")
    told = list(
        await ctx.session.scalars(select(Notification).where(Notification.kind == "user_joined"))
    )
    assert [(n.user_id, n.payload["user_id"]) for n in told] == [(admin.id, joined.id)]


async def test_handing_a_contact_over_tells_the_old_and_the_new_owner(ctx: Ctx) -> None:
    manager = await make_user(ctx, "Мария", "manager", 1)
    old = await make_user(ctx, "Олег", "sales", 2)
    new = await make_user(ctx, "Нина", "sales", 3)
    client = await contacts.create_contact(
        ctx, actor=Actor.of_user(old), name="Клиент", phones=["+79161234567"]
    )
    await contacts.update_contact(
        ctx, actor=Actor.of_user(manager), contact_id=client.id, changes={"owner_id": new.id}
    )
    told = list(
        await ctx.session.scalars(select(Notification).where(Notification.kind == "owner_changed"))
    )
    assert sorted(n.user_id for n in told if n.user_id) == sorted([old.id, new.id])
    assert all(n.payload["to_id"] == new.id and n.payload["by_id"] == manager.id for n in told)


async def test_workloads_count_open_overdue_and_today_in_each_persons_zone(
    ctx: Ctx, clock: FakeClock
) -> None:
    manager = await make_user(ctx, "Мария", "manager", 1)
    seller = await make_user(ctx, "Олег", "sales", 2)
    me = Actor.of_user(seller)
    now = clock.now()
    for delta in (timedelta(hours=-3), timedelta(minutes=30), timedelta(days=3)):
        await activities.plan(ctx, actor=me, title="звонок", due_at=now + delta)
    [load] = await users.workloads(ctx, actor=Actor.of_user(manager), people=[seller])
    assert (load.open, load.overdue) == (3, 1)
    assert load.today in (1, 2)  # 3 h ago may be yesterday near midnight in Moscow
    with pytest.raises(PermissionDenied):
        await users.workloads(ctx, actor=me, people=[seller])


async def test_a_manager_reassigns_or_nudges_an_open_callback(ctx: Ctx, clock: FakeClock) -> None:
    manager = await make_user(ctx, "Мария", "manager", 1)
    seller = await make_user(ctx, "Олег", "sales", 2)
    other = await make_user(ctx, "Нина", "sales", 3)
    task = await activities.plan(
        ctx, actor=Actor.of_user(seller), title="перезвонить", due_at=clock.now()
    )
    boss = Actor.of_user(manager)
    await escalations.remind_owner(ctx, actor=boss, activity_id=task.id)
    moved = await escalations.reassign(ctx, actor=boss, activity_id=task.id, owner_id=other.id)
    assert moved.owner_id == other.id
    kinds = [
        (n.kind, n.user_id)
        for n in await ctx.session.scalars(select(Notification).order_by(Notification.id))
    ]
    assert ("callback_nudge", seller.id) in kinds
    assert {("callback_assigned", other.id), ("callback_assigned", seller.id)} <= set(kinds)
    with pytest.raises(PermissionDenied):
        await escalations.reassign(
            ctx, actor=Actor.of_user(seller), activity_id=task.id, owner_id=seller.id
        )


async def test_today_is_counted_in_each_persons_own_zone(ctx: Ctx, clock: FakeClock) -> None:
    manager = await make_user(ctx, "Мария", "manager", 1)
    moscow = await make_user(ctx, "Олег", "sales", 2)
    far_east = await make_user(ctx, "Нина", "sales", 3)
    await users.update_profile(
        ctx, actor=Actor.of_user(far_east), user_id=far_east.id, timezone="Asia/Vladivostok"
    )
    # 15:00 UTC: 18:00 in Moscow (today), 01:00 the next day in Vladivostok.
    evening = clock.now().replace(hour=15)
    for person in (moscow, far_east):
        await activities.plan(ctx, actor=Actor.of_user(person), title="звонок", due_at=evening)
    loads = await users.workloads(ctx, actor=Actor.of_user(manager), people=[moscow, far_east])
    assert [(w.user.name, w.open, w.overdue, w.today) for w in loads] == [
        ("Олег", 1, 0, 1),
        ("Нина", 1, 0, 0),
    ]
