"""What the REST API needs from the composition root, the per-request session and API-key auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock, SystemClock
from core.config import CoreConfig
from core.context import Actor, Ctx
from core.db import session_scope
from core.users import api_keys


@dataclass(frozen=True)
class ApiContext:
    """Wiring for the REST API, built by app/ and kept in `app.state.api`."""

    sessions: async_sessionmaker[AsyncSession]
    config: CoreConfig = field(default_factory=CoreConfig)
    clock: Clock = field(default_factory=SystemClock)


def api_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.api
    return context


async def request_ctx(request: Request) -> AsyncIterator[Ctx]:
    """One session per request; the service commits, anything else is rolled back."""
    context = api_context(request)
    async with session_scope(context.sessions) as session:
        yield Ctx(session=session, config=context.config, clock=context.clock)


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
    operation = getattr(route, "name", request.url.path)
    api_keys.check_scope(
        actor,
        operation=operation,
        changes=request.method not in ("GET", "HEAD", "OPTIONS") and operation not in DRY_RUNS,
    )
    return actor


# POST operations that may write nothing: a dry run is a read for any key, and the route
# checks the scope itself when its request does write (see api/imports.py: `apply`).
DRY_RUNS = frozenset({"import_contacts", "rejected_rows"})


CtxDep = Annotated[Ctx, Depends(request_ctx)]
ActorDep = Annotated[Actor, Depends(api_actor)]
