"""The one FastAPI app: PBX webhooks, look-ups, REST API v1, health."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI

from telephony_webhooks import api, errors, health, webhooks
from telephony_webhooks.context import WebContext
from telephony_webhooks.inbox import InboxWriter
from telephony_webhooks.processor import InboxProcessor

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
            inbox: InboxWriter = app.state.inbox
            await inbox.start()
            stack.push_async_callback(inbox.stop)
            if web.process_inbox:
                processor = InboxProcessor(web, wake=inbox.stored, inbox=inbox)
                app.state.processor = processor
                await processor.start()
                stack.push_async_callback(processor.stop)
            yield

    app = FastAPI(
        title="Perezvon",
        version="0.1.0",
        description="Operational CRM: PBX webhooks, caller look-ups and the REST API v1.",
        lifespan=lifespan,
    )
    app.state.web = web
    app.state.inbox = InboxWriter(web.sessions)
    errors.install(app)
    app.include_router(health.router())
    app.add_middleware(webhooks.WebhookFastPath)
    app.include_router(webhooks.router())
    app.include_router(api.router())
    for extra in extra_routers:
        app.include_router(extra)
    return app
