"""What the HTTP app needs from the composition root, and per-request dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock, SystemClock
from core.config import CoreConfig
from core.context import Actor, Ctx
from core.db import session_scope
from core.services import api_keys


@dataclass
class WebContext:
    """Wiring for the FastAPI app, built by app/ (or by tests)."""

    sessions: async_sessionmaker[AsyncSession]
    config: CoreConfig = field(default_factory=CoreConfig)
    clock: Clock = field(default_factory=SystemClock)
    provider_secrets: Mapping[str, str] = field(default_factory=dict)
    public_url: str | None = None
    account_timezone: str = "Europe/Moscow"
    redirect_to_owner: bool = False
    bot_username: str | None = None
    process_inbox: bool = True  # run the inbox processor in this process
    # Sessions for the inbox processor's bulk work (core.db.create_bulk_engine); None: `sessions`.
    processor_sessions: async_sessionmaker[AsyncSession] | None = None
    # A row that fails this many times is parked with its error (PEREZVON_INBOX_MAX_ATTEMPTS).
    inbox_max_attempts: int = 5
    # Per provider, the networks it may call from (unset: any address; see sources.py).
    allowed_sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    trusted_proxy_header: str | None = None  # e.g. X-Forwarded-For, from trusted_proxies only
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")


def web_context(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


async def request_ctx(request: Request) -> AsyncIterator[Ctx]:
    """One session per request; the service commits, anything else is rolled back."""
    web = web_context(request)
    async with session_scope(web.sessions) as session:
        yield Ctx(session=session, config=web.config, clock=web.clock)


async def api_actor(request: Request, ctx: Annotated[Ctx, Depends(request_ctx)]) -> Actor:
    """The integration behind `Authorization: Bearer <API key>`, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            status_code=401,
            detail="missing API key: send Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    actor = await api_keys.authenticate(ctx, plain=token.strip())
    if actor is None:
        raise HTTPException(
            status_code=401,
            detail="unknown or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    route = request.scope.get("route")
    api_keys.check_scope(
        actor,
        operation=getattr(route, "name", request.url.path),
        changes=request.method not in ("GET", "HEAD", "OPTIONS"),
    )
    return actor


CtxDep = Annotated[Ctx, Depends(request_ctx)]
ActorDep = Annotated[Actor, Depends(api_actor)]
