"""Employees: invites, roles, extensions, time zone, locale, deactivation.

1. Only an admin invites, changes roles and extensions, and switches people off and on.
2. The team never loses its last admin: the last active admin can be neither given another
   role nor switched off (`LastAdmin`), whoever asks (the bot, the CLI, a script).
3. Every role change, switch-off and switch-on is audited with what it was and what it is.
4. Someone joining by invite is told to every active admin through the outbox, in the same
   unit of work as the join (`user_joined`), so nobody is told about a join that failed.
5. Role names are read the way people type them: `sales`, `продавец`, `менеджер`, `админ`…
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, func, select

from core.activities.models import Activity
from core.common import Page, add_audited, audit, check_page, get_or_not_found, page_of
from core.context import Actor, Ctx
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.outbox import service as outbox
from core.use_case import use_case
from core.users.models import ROLES, Invite, User, UserExtension

_EXTENSION = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")
LOCALES = ("ru", "en")


# What people type for a role, in either language (lower case, "ё" as "е").
ROLE_NAMES = {
    "sales": "sales",
    "salesperson": "sales",
    "seller": "sales",
    "продавец": "sales",
    "продажи": "sales",
    "manager": "manager",
    "менеджер": "manager",
    "руководитель": "manager",
    "admin": "admin",
    "administrator": "admin",
    "админ": "admin",
    "администратор": "admin",
}


class LastAdmin(Conflict):
    """The change would leave the team without an active admin."""


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("only an admin can manage users", code="admin-only")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(
            f"role must be one of {', '.join(ROLES)}", field="role", code="role-unknown"
        )
    return role


def parse_role(text: str) -> str:
    """A role code from what a person typed («продавец», «Admin», «manager»)."""
    key = text.strip().lower().replace("ё", "е")
    if key not in ROLE_NAMES:
        raise InvalidInput(
            f"role must be one of {', '.join(ROLES)}", field="role", code="role-unknown"
        )
    return ROLE_NAMES[key]


async def _other_active_admins(ctx: Ctx, user_id: int) -> int:
    count = await ctx.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.active.is_(True), User.id != user_id)
    )
    return int(count or 0)


async def _keep_an_admin(ctx: Ctx, user: User, *, role: str, active: bool) -> None:
    """Refuse a change that takes away the last active admin."""
    stays_admin = role == "admin" and active
    losing = user.role == "admin" and user.active and not stays_admin
    if losing and await _other_active_admins(ctx, user.id) == 0:
        raise LastAdmin(
            f"{user.name} is the last active admin",
            existing_id=user.id,
            code="last-admin",
            args={"name": user.name},
        )


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"unknown time zone {name!r}",
            field="timezone",
            code="timezone-unknown",
            args={"zone": str(name)},
        ) from exc
    return name


async def create_invite(
    ctx: Ctx, *, actor: Actor, role: str, name: str | None = None, ttl_hours: int | None = None
) -> Invite:
    """A one-time, expiring invite code for a new employee with the given role."""
    _require_admin(actor)
    check_role(role)
    now = ctx.clock.now()
    invite = Invite(
        code=secrets.token_urlsafe(12),
        role=role,
        name=name,
        expires_at=now + timedelta(hours=ttl_hours or ctx.config.invite_ttl_hours),
        created_by_id=actor.user_id,
        created_at=now,
    )
    ctx.session.add(invite)
    await ctx.session.commit()
    return invite


async def accept_invite(
    ctx: Ctx,
    *,
    code: str,
    telegram_user_id: int,
    name: str,
    username: str | None = None,
    locale: str | None = None,
) -> User:
    """Turn an invite into a user for this Telegram account; each code works once."""
    invite = await ctx.session.scalar(select(Invite).where(Invite.code == code.strip()))
    now = ctx.clock.now()
    if invite is None:
        raise NotFound("invite code not found", code="invite-not-found")
    if invite.used_at is not None:
        raise Conflict(
            "invite code was already used", existing_id=invite.used_by_id, code="invite-used"
        )
    if invite.expires_at <= now:
        raise InvalidInput("invite code has expired", field="code", code="invite-expired")
    existing = await get_by_telegram_id(ctx, telegram_user_id=telegram_user_id)
    if existing is not None:
        raise Conflict(
            "this Telegram account is already a user",
            existing_id=existing.id,
            code="already-a-user",
        )
    user = User(
        name=(invite.name or name or "").strip()[:200] or f"user {telegram_user_id}",
        telegram_user_id=telegram_user_id,
        telegram_username=username,
        role=invite.role,
        timezone=ctx.config.timezone,
        locale=locale if locale in LOCALES else ctx.config.locale,
        active=True,
        created_at=now,
    )
    ctx.session.add(user)
    await ctx.session.flush()
    invite.used_at = now
    invite.used_by_id = user.id
    await _tell_admins_of_join(ctx, user)
    await ctx.session.commit()
    return user


async def _tell_admins_of_join(ctx: Ctx, user: User) -> None:
    admins = await ctx.session.scalars(
        select(User).where(
            User.role == "admin",
            User.active.is_(True),
            User.telegram_user_id.is_not(None),
            User.id != user.id,
        )
    )
    for admin in admins:
        payload = {"user_id": user.id, "role": user.role}
        await outbox.notify(ctx, admin, "user_joined", user.id, admin.id, payload=payload)


async def create_user(
    ctx: Ctx,
    *,
    actor: Actor,
    name: str,
    role: str,
    telegram_user_id: int | None = None,
    extensions: Sequence[str] = (),
    timezone: str | None = None,
    locale: str | None = None,
) -> User:
    """Create an employee directly (admin tools, demo data, tests)."""
    _require_admin(actor)
    check_role(role)
    if not name.strip():
        raise InvalidInput("name must not be empty", field="name")
    if telegram_user_id is not None and await get_by_telegram_id(
        ctx, telegram_user_id=telegram_user_id
    ):
        raise Conflict("this Telegram account is already a user", code="already-a-user")
    user = User(
        name=name.strip(),
        telegram_user_id=telegram_user_id,
        role=role,
        timezone=check_timezone(timezone or ctx.config.timezone),
        locale=_check_locale(locale or ctx.config.locale),
        active=True,
        created_at=ctx.clock.now(),
    )
    await add_audited(ctx, user, actor=actor, entity="user", changes={"role": role})
    for extension in _unique(extensions):
        await _add_extension(ctx, user, extension)
    await ctx.session.commit()
    await ctx.session.refresh(user, ["extensions"])
    return user


def _unique(extensions: Sequence[str]) -> list[str]:
    """Each extension once (pending rows are not seen by the ownership query before a flush)."""
    return list(dict.fromkeys(e.strip() for e in extensions))


def _check_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise InvalidInput(f"locale must be one of {', '.join(LOCALES)}", field="locale")
    return locale


async def _add_extension(ctx: Ctx, user: User, extension: str) -> None:
    extension = extension.strip()
    if not _EXTENSION.match(extension):
        raise InvalidInput(
            f"extension {extension!r} is not a valid PBX number or login",
            field="extension",
            code="extension-invalid",
        )
    owner = await ctx.session.scalar(
        select(UserExtension).where(UserExtension.extension == extension)
    )
    if owner is not None and owner.user_id != user.id:
        raise Conflict(
            f"extension {extension} belongs to user {owner.user_id}",
            existing_id=owner.user_id,
            code="extension-taken",
            args={"extension": extension},
        )
    if owner is None:
        ctx.session.add(UserExtension(user_id=user.id, extension=extension))


async def map_extensions(
    ctx: Ctx, *, actor: Actor, user_id: int, extensions: Sequence[str], replace: bool = False
) -> User:
    """Map PBX extensions/logins to an employee (added, or replacing the current ones), in
    the caller's unit of work (never commits; `set_extensions` commits it alone)."""
    _require_admin(actor)
    user = await get_user(ctx, user_id=user_id)
    if replace:
        keep = set(_unique(extensions))
        await ctx.session.refresh(user, ["extensions"])
        for item in list(user.extensions):
            if item.extension not in keep:
                await ctx.session.delete(item)
        await ctx.session.flush()
    for extension in _unique(extensions):
        await _add_extension(ctx, user, extension)
    audit(
        ctx,
        actor=actor,
        entity="user",
        entity_id=user.id,
        action="set_extensions",
        changes={"extensions": list(extensions), "replace": replace},
    )
    await ctx.session.flush()
    await ctx.session.refresh(user, ["extensions"])
    return user


# A refused extension (invalid, or someone else's) leaves none of the others behind.
set_extensions = use_case(map_extensions)


async def change_profile(
    ctx: Ctx,
    *,
    actor: Actor,
    user_id: int,
    timezone: str | None = None,
    locale: str | None = None,
    name: str | None = None,
    role: str | None = None,
) -> User:
    """Change a user's zone, language, name (self or admin) or role (admin only), in the
    caller's unit of work (never commits; `update_profile` commits it alone)."""
    if actor.user_id != user_id or role is not None:
        _require_admin(actor)
    user = await get_user(ctx, user_id=user_id)
    changes: dict[str, object] = {}
    if timezone is not None:
        user.timezone = changes["timezone"] = check_timezone(timezone)
    if locale is not None:
        user.locale = changes["locale"] = _check_locale(locale)
    if name is not None and name.strip():
        user.name = changes["name"] = name.strip()[:200]
    if role is not None and check_role(role) != user.role:
        await _keep_an_admin(ctx, user, role=role, active=user.active)
        changes["role"] = {"from": user.role, "to": role}
        user.role = role
    audit(ctx, actor=actor, entity="user", entity_id=user.id, action="update", changes=changes)
    return user


update_profile = use_case(change_profile)


async def set_role(ctx: Ctx, *, actor: Actor, user_id: int, role: str) -> User:
    """Give a user another role (admins); the last active admin keeps theirs (LastAdmin)."""
    user = await change_profile(ctx, actor=actor, user_id=user_id, role=check_role(role))
    await ctx.session.commit()
    return user


async def deactivate(ctx: Ctx, *, actor: Actor, user_id: int) -> User:
    """Switch a user off: no bot access, no new calls or tasks routed to them."""
    return await _switch(ctx, actor, user_id, active=False)


async def activate(ctx: Ctx, *, actor: Actor, user_id: int) -> User:
    """Switch a user back on: the bot answers them again with the role they had."""
    return await _switch(ctx, actor, user_id, active=True)


async def _switch(ctx: Ctx, actor: Actor, user_id: int, *, active: bool) -> User:
    """Switch a user on or off (admins; never oneself off, never the last admin); audited
    when it changes anything, committed either way."""
    _require_admin(actor)
    user = await get_user(ctx, user_id=user_id)
    if not active and actor.user_id == user_id:
        raise InvalidInput(
            "you cannot deactivate yourself", field="user_id", code="deactivate-self"
        )
    if user.active != active:
        if not active:
            await _keep_an_admin(ctx, user, role=user.role, active=False)
        user.active = active
        audit(
            ctx,
            actor=actor,
            entity="user",
            entity_id=user.id,
            action="activate" if active else "deactivate",
            changes={"active": {"from": not active, "to": active}},
        )
    await ctx.session.commit()
    return user


async def resolve(ctx: Ctx, *, user_id: int | None, telegram_user_id: int | None) -> User:
    """The user by Perezvon id or by Telegram id (CLI and scripts name people either way)."""
    if telegram_user_id is not None:
        found = await get_by_telegram_id(ctx, telegram_user_id=telegram_user_id)
        if found is None:
            raise NotFound(f"no user with Telegram id {telegram_user_id}")
        return found
    if user_id is None:
        raise InvalidInput("name the user by id or Telegram id", field="user_id")
    return await get_user(ctx, user_id=user_id)


async def get_user(ctx: Ctx, *, user_id: int) -> User:
    user = await get_or_not_found(ctx, User, user_id, "user", code="user-not-found")
    return user


async def get_by_telegram_id(ctx: Ctx, *, telegram_user_id: int) -> User | None:
    user: User | None = await ctx.session.scalar(
        select(User).where(User.telegram_user_id == telegram_user_id)
    )
    return user


async def find_by_extension(ctx: Ctx, *, extension: str | None) -> User | None:
    """The active employee behind a PBX extension or login, if any."""
    if not extension:
        return None
    user: User | None = await ctx.session.scalar(
        select(User)
        .join(UserExtension, UserExtension.user_id == User.id)
        .where(UserExtension.extension == extension.strip(), User.active.is_(True))
    )
    return user


async def list_users(
    ctx: Ctx, *, active_only: bool = False, limit: int = 100, offset: int = 0
) -> Page[User]:
    check_page(limit, offset)
    where = [User.active.is_(True)] if active_only else []
    return await page_of(ctx, User, where, order_by=(User.id,), limit=limit, offset=offset)


@dataclass(frozen=True)
class Workload:
    """One person's planned work: open, of it overdue, and due today in their own zone."""

    user: User
    open: int
    overdue: int
    today: int


async def workloads(ctx: Ctx, *, actor: Actor, people: Sequence[User]) -> list[Workload]:
    """Open, overdue and today's activity counts per person (managers and admins); one
    grouped query per time zone in the team, so /team stays one or two queries."""
    if not actor.sees_all:
        raise PermissionDenied("only a manager can see the team's work", code="manager-only")
    now = ctx.clock.now()
    counts: dict[int, tuple[int, int, int]] = {}
    for zone in {person.timezone for person in people}:
        ids = [person.id for person in people if person.timezone == zone]
        start, end = _today(now, zone)
        today = (Activity.due_at >= start) & (Activity.due_at < end)
        rows = await ctx.session.execute(
            select(
                Activity.owner_id,
                func.count(),
                func.sum(case((Activity.due_at < now, 1), else_=0)),
                func.sum(case((today, 1), else_=0)),
            )
            .where(Activity.owner_id.in_(ids), Activity.status == "planned")
            .group_by(Activity.owner_id)
        )
        for owner_id, total, overdue, due_today in rows.tuples():
            if owner_id is not None:
                counts[owner_id] = (int(total), int(overdue or 0), int(due_today or 0))
    return [Workload(p, *counts.get(p.id, (0, 0, 0))) for p in people]


def _today(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """Today's bounds in a zone, as aware UTC-comparable datetimes."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


async def set_access(
    ctx: Ctx, *, actor: Actor, user_id: int, role: str | None = None, active: bool | None = None
) -> User:
    """Change a user's role and/or switch them on or off (admins), all or nothing.

    The order keeps a refused request from changing half: switching off goes first (the
    last active admin is refused before the role moves), switching on goes last (a role
    given to a switched-off user never meets the last-admin rule)."""
    _require_admin(actor)
    if role is not None:
        check_role(role)
    user = await get_user(ctx, user_id=user_id)
    if active is False:
        user = await deactivate(ctx, actor=actor, user_id=user_id)
    if role is not None and role != user.role:
        user = await set_role(ctx, actor=actor, user_id=user_id, role=role)
    if active is True:
        user = await activate(ctx, actor=actor, user_id=user_id)
    await ctx.session.refresh(user, ["extensions"])
    return user


async def has_staff(ctx: Ctx) -> bool:
    """Whether anyone works here yet (an employee, active or not): before the first admin
    is made, nobody can be asked for an invite."""
    return await ctx.session.scalar(select(User.id).limit(1)) is not None
