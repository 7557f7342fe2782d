"""Shared steps for the HTTP-level provider tests: deliver, process, read the end state."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FakeClock
from core.context import Actor, Ctx
from core.models import Activity, Call, Notification, TelephonyEvent, User
from core.users import service as users
from telephony_webhooks.providers.base import RawRequest
from tests.telephony.conftest import Pbx

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


async def deliver(
    pbx: Pbx,
    requests: Iterable[RawRequest],
    provider: str,
    *,
    clock: FakeClock | None = None,
    step_seconds: float = 0,
) -> list[httpx.Response]:
    """POST each request as the PBX would; every one must be acknowledged with 200."""
    responses = []
    for request in requests:
        response = await pbx.send(request, provider)
        assert response.status_code == 200, (request.body[:200], response.text)
        responses.append(response)
        if clock is not None and step_seconds:
            clock.advance(seconds=step_seconds)
    return responses


def shuffled(requests: Sequence[RawRequest], seed: int) -> list[RawRequest]:
    copy = list(requests)
    random.Random(seed).shuffle(copy)
    return copy


async def process(pbx: Pbx) -> int:
    """Run the inbox processor until nothing is due; every stored row must be applied."""
    applied = await pbx.processor.drain()
    async with pbx.web.sessions() as session:
        failed = list(
            await session.scalars(
                select(TelephonyEvent).where(
                    (TelephonyEvent.processed_at.is_(None)) | (TelephonyEvent.error.is_not(None))
                )
            )
        )
    assert not failed, [(row.event_type, row.error) for row in failed]
    return applied


async def load(pbx: Pbx, model: type[Any], *where: Any) -> list[Any]:
    """Fresh rows (a new session, so nothing cached from before the processor ran)."""
    async with pbx.web.sessions() as session:
        return list(await session.scalars(select(model).where(*where).order_by(model.id)))


async def only_call(pbx: Pbx, provider: str) -> Call:
    calls = await load(pbx, Call, Call.provider == provider)
    assert len(calls) == 1, [(c.provider_call_id, c.status) for c in calls]
    call: Call = calls[0]
    return call


async def call_by_id(pbx: Pbx, provider: str, provider_call_id: str) -> Call:
    calls = await load(
        pbx, Call, Call.provider == provider, Call.provider_call_id == provider_call_id
    )
    assert len(calls) == 1, provider_call_id
    call: Call = calls[0]
    return call


def end_state(call: Call) -> dict[str, Any]:
    return {name: getattr(call, name) for name in END_STATE_FIELDS}


async def inbox_count(pbx: Pbx) -> int:
    async with pbx.web.sessions() as session:
        return await session.scalar(select(func.count()).select_from(TelephonyEvent)) or 0


async def callbacks(pbx: Pbx, phone: str | None = None) -> list[Activity]:
    where = [Activity.kind == "callback"]
    if phone is not None:
        where.append(Activity.callback_phone == phone)
    return await load(pbx, Activity, *where)


async def notifications(pbx: Pbx, kind: str | None = None) -> list[Notification]:
    return await load(pbx, Notification, *([Notification.kind == kind] if kind else []))


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
