"""Shared steps for the HTTP-level provider tests beside `pbx` (tests/telephony/conftest.py):
the end state of a call, requests shuffled, an employee the PBX rings."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import Actor, Ctx
from core.models import Call, User
from core.users import service as users
from telephony_webhooks.providers.base import RawRequest

# What a Call row ends up as, independent of ids and bookkeeping times.
END_STATE_FIELDS = (
    "direction",
    "status",
    "client_e164",
    "client_raw",
    "our_phone",
    "extension",
    "user_id",
    "contact_id",
    "started_at",
    "answered_at",
    "ended_at",
    "ring_seconds",
    "talk_seconds",
    "recording",
)


def shuffled(requests: Sequence[RawRequest], seed: int) -> list[RawRequest]:
    copy = list(requests)
    random.Random(seed).shuffle(copy)
    return copy


def end_state(call: Call) -> dict[str, Any]:
    return {name: getattr(call, name) for name in END_STATE_FIELDS}


async def employee(
    ctx: Ctx, system: Actor, name: str, telegram_user_id: int, *extensions: str
) -> User:
    """A salesperson with Telegram and the PBX extensions (or logins) that ring them."""
    return await users.create_user(
        ctx,
        actor=system,
        name=name,
        role="sales",
        telegram_user_id=telegram_user_id,
        extensions=list(extensions),
    )


async def count_rows(session: AsyncSession, model: type[Any]) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0
