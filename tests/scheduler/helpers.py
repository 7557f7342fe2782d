"""Helpers for the scheduler tests: people, contacts and what landed in the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.context import Actor, Ctx
from core.models import Notification, User
from core.services import users

SYSTEM = Actor.system("test")


async def make_user(
    ctx: Ctx, name: str, role: str = "sales", tg: int | None = None, timezone: str | None = None
) -> User:
    return await users.create_user(
        ctx, actor=SYSTEM, name=name, role=role, telegram_user_id=tg, timezone=timezone
    )


async def outbox(ctx: Ctx, kind: str | None = None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    rows = list(await ctx.session.scalars(query))
    await ctx.session.commit()
    return rows


def payloads(rows: list[Notification]) -> list[dict[str, Any]]:
    return [row.payload for row in rows]
