"""Audit log (who changed what) and API keys (hashed, shown once, revocable)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.activities import service as activities
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.deals import service as deals
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.models import ApiKey, AuditLog
from core.users import api_keys
from core.users import service as users
from tests.factories import make_actor
from tests.fakes.clock import FakeClock


async def trail(session: AsyncSession, entity: str) -> list[tuple[str, int, int | None, str]]:
    rows = await session.execute(
        select(AuditLog.action, AuditLog.entity_id, AuditLog.actor_user_id, AuditLog.actor_label)
        .where(AuditLog.entity == entity)
        .order_by(AuditLog.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def by(actor: Actor, *entries: tuple[str, int]) -> list[tuple[str, int, int | None, str]]:
    """The trail `actor` leaves: each (action, entity id) with their user id and label."""
    return [(action, id_, actor.user_id, f"user:{actor.user_id}") for action, id_ in entries]


async def test_contact_changes_leave_audit_entries_with_the_actor(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    anna = await make_actor(ctx, "Анна", tg=1)
    a = await contacts.create_contact(ctx, actor=anna, name="Иван", phones=["89161234567"])
    await contacts.update_contact(ctx, actor=anna, contact_id=a.id, changes={"email": "i@x.ru"})
    b = await contacts.create_contact(ctx, actor=anna, name="Иван 2", phones=["89161234568"])
    await contacts.merge_contacts(ctx, actor=anna, source_id=b.id, target_id=a.id)
    clock.advance(minutes=1)
    await contacts.delete_contact(ctx, actor=anna, contact_id=a.id)
    assert await trail(ctx.session, "contact") == by(
        anna,
        ("create", a.id),
        ("update", a.id),
        ("create", b.id),
        ("merge", a.id),
        ("delete", a.id),
    )
    update = await ctx.session.scalar(
        select(AuditLog).where(AuditLog.entity == "contact", AuditLog.action == "update")
    )
    assert update is not None
    assert update.changes == {"email": "i@x.ru"}
    last = await ctx.session.scalar(select(AuditLog).order_by(AuditLog.id.desc()).limit(1))
    assert last is not None
    assert last.at == clock.now()
    merge = await ctx.session.scalar(select(AuditLog).where(AuditLog.action == "merge"))
    assert merge is not None
    assert merge.changes == {"merged": b.id}


async def test_deal_changes_leave_audit_entries_with_the_actor(ctx: Ctx, system: Actor) -> None:
    anna = await make_actor(ctx, "Анна", tg=1)
    deal = await deals.create(ctx, actor=anna, title="Поставка")
    await deals.move(ctx, actor=anna, deal_id=deal.id, stage="proposal")
    await deals.update(ctx, actor=anna, deal_id=deal.id, changes={"title": "Поставка труб"})
    await deals.move(ctx, actor=anna, deal_id=deal.id, stage="won", amount="1999.99")
    assert await trail(ctx.session, "deal") == by(
        anna, ("create", deal.id), ("move", deal.id), ("update", deal.id), ("move", deal.id)
    )
    won = (
        await ctx.session.scalars(
            select(AuditLog).where(AuditLog.action == "move").order_by(AuditLog.id)
        )
    ).all()[-1]
    assert won.changes == {"from": "proposal", "to": "won", "amount": "1999.99"}


async def test_activity_changes_leave_audit_entries_with_the_actor(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    anna = await make_actor(ctx, "Анна", tg=1)
    due = clock.now() + timedelta(hours=1)
    a = await activities.plan(ctx, actor=anna, title="Позвонить", due_at=due)
    await activities.reschedule(ctx, actor=anna, activity_id=a.id, due_at=due + timedelta(hours=1))
    await activities.snooze(ctx, actor=anna, activity_id=a.id, minutes=10)
    await activities.complete(ctx, actor=anna, activity_id=a.id, result="Дозвонился")
    b = await activities.plan(ctx, actor=anna, title="Встреча", due_at=due)
    await activities.cancel(ctx, actor=anna, activity_id=b.id, reason="Отменили")
    assert await trail(ctx.session, "activity") == by(
        anna,
        ("plan", a.id),
        ("reschedule", a.id),
        ("snooze", a.id),
        ("complete", a.id),
        ("plan", b.id),
        ("cancel", b.id),
    )


async def test_a_refused_change_leaves_no_audit_entry(
    ctx: Ctx, system: Actor, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await contacts.create_contact(ctx, actor=system, name="Иван", phones=["89161234567"])
    other = await contacts.create_contact(ctx, actor=system, name="Мария", phones=[])
    with pytest.raises(Conflict):
        await contacts.update_contact(
            ctx, actor=system, contact_id=other.id, changes={"phones": ["+79161234567"]}
        )
    await ctx.session.rollback()
    async with sessions() as fresh:
        assert [action for action, *_ in await trail(fresh, "contact")] == ["create", "create"]


async def test_api_key_is_shown_once_and_only_its_hash_is_stored(
    ctx: Ctx, system: Actor, sessions: async_sessionmaker[AsyncSession]
) -> None:
    key, plain = await api_keys.create(ctx, actor=system, name="Интернет-магазин")
    assert plain.startswith(api_keys.PREFIX)
    assert len(plain) > 40
    async with sessions() as fresh:
        (row,) = (await fresh.scalars(select(ApiKey))).all()
        assert row.key_hash == hashlib.sha256(plain.encode()).hexdigest()
        stored = [str(getattr(row, c.key)) for c in ApiKey.__table__.columns]
        assert not any(plain in value for value in stored)
        assert plain.startswith(row.prefix)
        assert len(row.prefix) < len(plain) // 4
    _, another = await api_keys.create(ctx, actor=system, name="Бухгалтерия")
    assert another != plain
    assert key.revoked_at is None


async def test_api_key_authenticates_until_revoked(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    key, plain = await api_keys.create(ctx, actor=system, name="shop", role="manager")
    actor = await api_keys.authenticate(ctx, plain=plain)
    assert actor is not None
    assert (actor.role, actor.api_key_id, actor.label, actor.user_id) == (
        "manager",
        key.id,
        "api:shop",
        None,
    )
    assert actor.sees_all
    assert not actor.is_admin
    await api_keys.revoke(ctx, actor=system, key_id=key.id)
    assert await api_keys.authenticate(ctx, plain=plain) is None
    assert key.revoked_at == clock.now()


@pytest.mark.parametrize("presented", ["", "pzv_unknown", "x" * 500])
async def test_unknown_api_key_is_nobody(ctx: Ctx, system: Actor, presented: str) -> None:
    _, plain = await api_keys.create(ctx, actor=system, name="shop")
    assert await api_keys.authenticate(ctx, plain=presented) is None
    assert await api_keys.authenticate(ctx, plain=plain + "x") is None


async def test_only_admins_create_or_revoke_api_keys(ctx: Ctx, system: Actor) -> None:
    anna = await make_actor(ctx, "Анна", tg=1)
    boss_user = await users.create_user(
        ctx, actor=system, name="Ольга", role="manager", telegram_user_id=2
    )
    boss = Actor.of_user(boss_user)
    for who in (anna, boss):
        with pytest.raises(PermissionDenied):
            await api_keys.create(ctx, actor=who, name="shop")
    key, plain = await api_keys.create(ctx, actor=system, name="shop")
    with pytest.raises(PermissionDenied):
        await api_keys.revoke(ctx, actor=boss, key_id=key.id)
    assert await api_keys.authenticate(ctx, plain=plain) is not None
    with pytest.raises(InvalidInput):
        await api_keys.create(ctx, actor=system, name="  ")
    with pytest.raises(InvalidInput):
        await api_keys.create(ctx, actor=system, name="shop", role="sales")


async def test_changes_made_with_an_api_key_are_audited_under_its_name(
    ctx: Ctx, system: Actor
) -> None:
    _, plain = await api_keys.create(ctx, actor=system, name="shop")
    actor = await api_keys.authenticate(ctx, plain=plain)
    assert actor is not None
    contact, created = await contacts.upsert_by_phone(
        ctx, actor=actor, phone="89161234567", fields={"name": "Покупатель"}
    )
    assert created
    assert contact.owner_id is None
    assert await trail(ctx.session, "contact") == [("create", contact.id, None, "api:shop")]
