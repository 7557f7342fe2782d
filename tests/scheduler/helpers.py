"""Helpers for the scheduler tests: people, contacts, what landed in the outbox, and
`perezvon run` in a child process."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.context import Ctx
from core.models import Notification
from tests.factories import SYSTEM, make_user

__all__ = ["SYSTEM", "make_user", "outbox", "payloads", "start_perezvon_run"]


async def start_perezvon_run(
    components: str, *, cwd: Path, env: dict[str, str], **streams: Any
) -> asyncio.subprocess.Process:
    """`perezvon run --components <components>` as deployed, in a child process (`cwd` away
    from the repository's .env; `env` holds its settings)."""
    run = (sys.executable, "-m", "app.cli", "run", "--components", components)
    return await asyncio.create_subprocess_exec(*run, cwd=cwd, env=env, **streams)


async def outbox(ctx: Ctx, kind: str | None = None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    rows = list(await ctx.session.scalars(query))
    await ctx.session.commit()
    return rows


def payloads(rows: list[Notification]) -> list[dict[str, Any]]:
    return [row.payload for row in rows]
