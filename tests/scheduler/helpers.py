"""Helpers for the scheduler tests: people, contacts and what landed in the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.context import Ctx
from core.models import Notification
from tests.factories import SYSTEM, make_user

__all__ = ["SYSTEM", "make_user", "outbox", "payloads"]


async def outbox(ctx: Ctx, kind: str | None = None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    rows = list(await ctx.session.scalars(query))
    await ctx.session.commit()
    return rows


def payloads(rows: list[Notification]) -> list[dict[str, Any]]:
    return [row.payload for row in rows]
