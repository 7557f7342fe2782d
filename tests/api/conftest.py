"""An app on the test database, an HTTP client through ASGITransport, and API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.http import create_app
from core.calls import service as calls
from core.calls.models import Call
from core.config import CoreConfig
from core.context import Actor, Ctx
from core.events import CallEvent, Direction
from core.users import api_keys
from core.users import service as users
from core.users.models import User
from telephony_webhooks.context import WebContext
from tests.fakes.clock import FakeClock

BASE = "http://test"


@pytest.fixture
def app(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> FastAPI:
    return create_app(WebContext(sessions=sessions, config=config, clock=clock))


def as_key(app: FastAPI, plain: str) -> httpx.AsyncClient:
    """A client of the REST API whose every request carries `Authorization: Bearer <plain>`."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=f"{BASE}/api/v1",
        headers={"Authorization": f"Bearer {plain}"},
    )


async def key(ctx: Ctx, system: Actor, role: str, *, name: str | None = None) -> str:
    """A new API key scoped to `role` (named after it unless `name` says), in plain text."""
    _key, plain = await api_keys.create(ctx, actor=system, name=name or role, role=role)
    return plain


@pytest.fixture
async def api_key(ctx: Ctx, system: Actor) -> str:
    _key, plain = await api_keys.create(ctx, actor=system, name="shop")
    return plain


@pytest.fixture
async def anon(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sends no API key."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        yield http


@pytest.fixture
async def client(app: FastAPI, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the integration: every request carries `Authorization: Bearer <key>`."""
    async with as_key(app, api_key) as http:
        yield http


async def created(
    client: httpx.AsyncClient, path: str, body: dict[str, object]
) -> dict[str, object]:
    """POSTs `body` to `path`, checks the answer is 201 Created, returns the new resource."""
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    resource: dict[str, object] = response.json()
    return resource


async def make_user(
    ctx: Ctx, system: Actor, name: str, *, tg: int, extensions: tuple[str, ...] = ()
) -> User:
    return await users.create_user(
        ctx, actor=system, name=name, role="sales", telegram_user_id=tg, extensions=extensions
    )


async def make_call(
    ctx: Ctx,
    call_id: str,
    *,
    client: str,
    at: datetime,
    extension: str | None = None,
    answered: bool = True,
    direction: Direction = "in",
) -> Call:
    """A finished call as the PBX would report it (ringing, maybe answered, ended)."""
    ringing = CallEvent(
        provider="generic",
        provider_call_id=call_id,
        kind="ringing",
        occurred_at=at,
        started_at=at,
        direction=direction,
        client_number=client,
        our_number="+74950000000",
        extension=extension,
    )
    await calls.apply_event(ctx, event=ringing)
    if answered:
        answer = replace(ringing, kind="answered", occurred_at=at + timedelta(seconds=5))
        await calls.apply_event(ctx, event=answer)
    end = replace(ringing, kind="ended", occurred_at=at + timedelta(seconds=65))
    return await calls.apply_event(ctx, event=end)
