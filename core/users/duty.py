"""Who takes what nobody in particular owns: the on-duty person, else the people of a role.

Only active users count; `in_telegram` keeps those the bot can write to.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select

from core.context import Ctx
from core.users.models import User


def _available(in_telegram: bool) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [User.active.is_(True)]
    if in_telegram:
        where.append(User.telegram_user_id.is_not(None))
    return where


async def on_duty_id(ctx: Ctx, *, in_telegram: bool = False) -> int | None:
    """The on-duty person (the lowest id when several are), or None."""
    found: int | None = await ctx.session.scalar(
        select(User.id)
        .where(User.on_duty.is_(True), *_available(in_telegram))
        .order_by(User.id)
        .limit(1)
    )
    return found


async def first_staffed_role(ctx: Ctx, roles: Sequence[str]) -> list[User]:
    """The active people the bot can write to, of the first of `roles` that has any, by id."""
    for role in roles:
        users = list(
            await ctx.session.scalars(
                select(User).where(User.role == role, *_available(True)).order_by(User.id)
            )
        )
        if users:
            return users
    return []
