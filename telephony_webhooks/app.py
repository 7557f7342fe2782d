"""The one FastAPI app: PBX webhooks, look-ups, REST API v1, health."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI

from telephony_webhooks import api, errors, health
from telephony_webhooks.context import WebContext

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    web: WebContext,
    *,
    extra_routers: Sequence[APIRouter] = (),
    lifespan_hooks: Sequence[Lifespan] = (),
) -> FastAPI:
    """Build the app around the given wiring; `extra_routers` lets app/ add e.g. the bot webhook."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from contextlib import AsyncExitStack

        async with AsyncExitStack() as stack:
            for hook in lifespan_hooks:
                await stack.enter_async_context(hook(app))
            yield

    app = FastAPI(
        title="Perezvon",
        version="0.1.0",
        description="Operational CRM: PBX webhooks, caller look-ups and the REST API v1.",
        lifespan=lifespan,
    )
    app.state.web = web
    errors.install(app)
    app.include_router(health.router())
    app.include_router(api.router())
    for extra in extra_routers:
        app.include_router(extra)
    return app
