"""Employees: invites, roles, extensions, time zone, locale, deactivation, admin-only changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.context import Actor, Ctx
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.models import User, UserExtension
from core.users import service as users
from tests.factories import make_user
from tests.fakes.clock import FakeClock


async def test_invite_becomes_a_user_with_the_invited_role_and_works_once(
    ctx: Ctx, system: Actor
) -> None:
    invite = await users.create_invite(ctx, actor=system, role="manager")
    user = await users.accept_invite(
        ctx, code=f"  {invite.code} ", telegram_user_id=77, name="Ольга"
    )
    assert user.role == "manager"
    assert user.telegram_user_id == 77
    assert user.name == "Ольга"
    assert user.active
    assert (user.timezone, user.locale) == ("Europe/Moscow", "ru")
    with pytest.raises(Conflict) as caught:
        await users.accept_invite(ctx, code=invite.code, telegram_user_id=78, name="Пётр")
    assert caught.value.existing_id == user.id
    assert await users.get_by_telegram_id(ctx, telegram_user_id=78) is None


async def test_invite_expires_by_the_clock(ctx: Ctx, clock: FakeClock, system: Actor) -> None:
    invite = await users.create_invite(ctx, actor=system, role="sales", ttl_hours=2)
    clock.advance(hours=1, minutes=59)
    still_fresh = await users.create_invite(ctx, actor=system, role="sales", ttl_hours=2)
    assert await users.accept_invite(ctx, code=invite.code, telegram_user_id=1, name="A")
    clock.advance(hours=2)
    with pytest.raises(InvalidInput) as caught:
        await users.accept_invite(ctx, code=still_fresh.code, telegram_user_id=2, name="B")
    assert caught.value.field == "code"
    assert await users.get_by_telegram_id(ctx, telegram_user_id=2) is None


async def test_default_invite_lifetime_comes_from_the_config(
    ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    invite = await users.create_invite(ctx, actor=system, role="sales")
    assert invite.expires_at - clock.now() == timedelta(hours=ctx.config.invite_ttl_hours)
    clock.advance(hours=ctx.config.invite_ttl_hours, seconds=1)
    with pytest.raises(InvalidInput):
        await users.accept_invite(ctx, code=invite.code, telegram_user_id=3, name="C")


async def test_unknown_invite_code_and_a_telegram_account_that_is_already_a_user(
    ctx: Ctx, system: Actor
) -> None:
    with pytest.raises(NotFound):
        await users.accept_invite(ctx, code="nope", telegram_user_id=5, name="X")
    existing = await make_user(ctx, "Анна", "sales", 5)
    invite = await users.create_invite(ctx, actor=system, role="admin")
    with pytest.raises(Conflict) as caught:
        await users.accept_invite(ctx, code=invite.code, telegram_user_id=5, name="Анна")
    assert caught.value.existing_id == existing.id
    assert existing.role == "sales"


@pytest.mark.parametrize("role", ["admin", "manager", "sales"])
async def test_each_role_can_be_given(ctx: Ctx, system: Actor, role: str) -> None:
    user = await make_user(ctx, "Кто-то", role, 10)
    assert user.role == role
    assert Actor.of_user(user).sees_all is (role in ("admin", "manager"))


async def test_unknown_role_is_refused_everywhere(ctx: Ctx, system: Actor) -> None:
    with pytest.raises(InvalidInput) as caught:
        await users.create_user(ctx, actor=system, name="X", role="boss")
    assert "admin, manager, sales" in caught.value.message
    with pytest.raises(InvalidInput):
        await users.create_invite(ctx, actor=system, role="root")
    user = await make_user(ctx, "Анна", "sales", 1)
    with pytest.raises(InvalidInput):
        await users.update_profile(ctx, actor=system, user_id=user.id, role="owner")


async def test_extension_resolves_to_its_user_and_is_unique_across_users(
    ctx: Ctx, system: Actor
) -> None:
    anna = await make_user(ctx, "Анна", "sales", 1, extensions=["101", "anna@pbx"])
    boris = await make_user(ctx, "Борис", "sales", 2)
    found = await users.find_by_extension(ctx, extension=" 101 ")
    assert found is not None
    assert found.id == anna.id
    found = await users.find_by_extension(ctx, extension="anna@pbx")
    assert found is not None
    assert found.id == anna.id
    assert await users.find_by_extension(ctx, extension="999") is None
    assert await users.find_by_extension(ctx, extension=None) is None
    with pytest.raises(Conflict) as caught:
        await users.set_extensions(ctx, actor=system, user_id=boris.id, extensions=["101"])
    assert caught.value.existing_id == anna.id


async def test_creating_a_user_with_someone_elses_extension_conflicts_and_creates_nobody(
    ctx: Ctx, system: Actor, sessions: async_sessionmaker[AsyncSession]
) -> None:
    anna = await make_user(ctx, "Анна", "sales", 1, extensions=["101"])
    with pytest.raises(Conflict) as caught:
        await make_user(ctx, "Борис", "sales", 2, extensions=["102", "101"])
    assert caught.value.existing_id == anna.id
    await ctx.session.rollback()
    async with sessions() as fresh:
        assert await fresh.scalar(select(func.count()).select_from(User)) == 1
        owners = (await fresh.execute(select(UserExtension.extension))).scalars().all()
        assert owners == ["101"]


async def test_the_same_extension_twice_in_one_request_is_one_mapping(
    ctx: Ctx, system: Actor
) -> None:
    anna = await make_user(ctx, "Анна", "sales", 1, extensions=["101", " 101"])
    assert anna.extension_list == ["101"]
    again = await users.set_extensions(
        ctx, actor=system, user_id=anna.id, extensions=["102", "102", "101"]
    )
    assert sorted(again.extension_list) == ["101", "102"]


async def test_replacing_extensions_frees_the_old_ones_for_someone_else(
    ctx: Ctx, system: Actor
) -> None:
    anna = await make_user(ctx, "Анна", "sales", 1, extensions=["101", "102"])
    boris = await make_user(ctx, "Борис", "sales", 2)
    anna = await users.set_extensions(
        ctx, actor=system, user_id=anna.id, extensions=["102", "103"], replace=True
    )
    assert sorted(anna.extension_list) == ["102", "103"]
    boris = await users.set_extensions(ctx, actor=system, user_id=boris.id, extensions=["101"])
    assert boris.extension_list == ["101"]
    found = await users.find_by_extension(ctx, extension="101")
    assert found is not None
    assert found.id == boris.id


@pytest.mark.parametrize("bad", ["", "10 1", "доб101", "x" * 65])
async def test_malformed_extension_is_invalid(ctx: Ctx, system: Actor, bad: str) -> None:
    user = await make_user(ctx, "Анна", "sales", 1)
    with pytest.raises(InvalidInput) as caught:
        await users.set_extensions(ctx, actor=system, user_id=user.id, extensions=[bad])
    assert caught.value.field == "extension"


async def test_time_zone_and_locale_are_checked_and_a_user_may_change_their_own(
    ctx: Ctx, system: Actor
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await users.create_user(ctx, actor=system, name="X", role="sales", timezone="Mars/Olympus")
    assert caught.value.field == "timezone"
    user = await make_user(ctx, "Анна", "sales", 1)
    me = Actor.of_user(user)
    updated = await users.update_profile(
        ctx, actor=me, user_id=user.id, timezone="Asia/Vladivostok", locale="en"
    )
    assert (updated.timezone, updated.locale) == ("Asia/Vladivostok", "en")
    for bad_zone in ("Europe/Atlantis", "", "../../etc/passwd"):
        with pytest.raises(InvalidInput):
            await users.update_profile(ctx, actor=me, user_id=user.id, timezone=bad_zone)
    with pytest.raises(InvalidInput) as caught:
        await users.update_profile(ctx, actor=me, user_id=user.id, locale="de")
    assert caught.value.field == "locale"
    await ctx.session.rollback()
    reloaded = await users.get_user(ctx, user_id=user.id)
    assert (reloaded.timezone, reloaded.locale) == ("Asia/Vladivostok", "en")


async def test_deactivated_users_extension_no_longer_resolves(ctx: Ctx, system: Actor) -> None:
    anna = await make_user(ctx, "Анна", "sales", 1, extensions=["101"])
    assert await users.find_by_extension(ctx, extension="101") is not None
    await users.deactivate(ctx, actor=system, user_id=anna.id)
    assert await users.find_by_extension(ctx, extension="101") is None
    assert (await users.list_users(ctx, active_only=True)).total == 0
    assert (await users.list_users(ctx)).total == 1


async def test_an_admin_cannot_deactivate_themselves(ctx: Ctx, system: Actor) -> None:
    admin = await make_user(ctx, "Админ", "admin", 1)
    with pytest.raises(InvalidInput):
        await users.deactivate(ctx, actor=Actor.of_user(admin), user_id=admin.id)


@pytest.mark.parametrize("role", ["manager", "sales"])
async def test_only_admins_manage_users(
    ctx: Ctx, system: Actor, role: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    target = await make_user(ctx, "Цель", "sales", 1, extensions=["101"])
    target_id = target.id
    someone = Actor.of_user(await make_user(ctx, "Не админ", role, 2))
    with pytest.raises(PermissionDenied):
        await users.create_invite(ctx, actor=someone, role="sales")
    with pytest.raises(PermissionDenied):
        await users.create_user(ctx, actor=someone, name="Новый", role="sales")
    with pytest.raises(PermissionDenied):
        await users.set_extensions(ctx, actor=someone, user_id=target.id, extensions=["555"])
    with pytest.raises(PermissionDenied):
        await users.deactivate(ctx, actor=someone, user_id=target.id)
    with pytest.raises(PermissionDenied):
        await users.update_profile(ctx, actor=someone, user_id=target.id, locale="en")
    with pytest.raises(PermissionDenied):
        await users.update_profile(ctx, actor=someone, user_id=someone.user_id or 0, role="admin")
    await ctx.session.rollback()
    async with sessions() as fresh:
        reloaded = await fresh.get(User, target_id)
        assert reloaded is not None
        assert reloaded.active
        assert reloaded.locale == "ru"
        assert reloaded.extension_list == ["101"]
        assert await fresh.scalar(select(func.count()).select_from(User)) == 2


async def test_an_admin_user_can_promote_and_rename(ctx: Ctx, system: Actor) -> None:
    admin = Actor.of_user(await make_user(ctx, "Админ", "admin", 1))
    user = await make_user(ctx, "Анна", "sales", 2)
    updated = await users.update_profile(
        ctx, actor=admin, user_id=user.id, role="manager", name="  Анна Петрова "
    )
    assert (updated.role, updated.name) == ("manager", "Анна Петрова")
    with pytest.raises(NotFound):
        await users.update_profile(ctx, actor=admin, user_id=9999, locale="en")
