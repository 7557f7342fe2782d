"""The one FastAPI app: PBX webhooks, look-ups, REST API v1, health."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.types import Receive, Scope, Send

from telephony_webhooks import api, errors, health, webhooks
from telephony_webhooks.context import WebContext
from telephony_webhooks.inbox import InboxWriter
from telephony_webhooks.processor import InboxProcessor

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


class PerezvonApp(FastAPI):
    """FastAPI with the PBX webhooks served first, by a plain ASGI app (`WebhookApp`).

    Every other path, and lifespan, goes through FastAPI as usual.
    """

    pbx_webhooks: webhooks.WebhookApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.pbx_webhooks is not None
            and scope["type"] == "http"
            and self.pbx_webhooks.route_path(scope).startswith(webhooks.PREFIX + "/")
        ):
            await self.pbx_webhooks(scope, receive, send)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # Starlette has already answered an unexpected error with `errors.unexpected_error`
        # (a JSON 500, the traceback logged) and re-raises it for the server's sake; a server
        # that sees it closes the keep-alive connection under the client's next request.
        with contextlib.suppress(Exception):
            await super().__call__(scope, receive, send)


def create_app(
    web: WebContext,
    *,
    extra_routers: Sequence[APIRouter] = (),
    lifespan_hooks: Sequence[Lifespan] = (),
) -> PerezvonApp:
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

    app = PerezvonApp(
        title="Perezvon",
        version="0.1.0",
        description="Operational CRM: PBX webhooks, caller look-ups and the REST API v1.",
        lifespan=lifespan,
    )
    app.state.web = web
    app.state.inbox = InboxWriter(web.sessions)
    app.pbx_webhooks = webhooks.WebhookApp(web, app.state.inbox)
    errors.install(app)
    app.include_router(health.router())
    app.include_router(webhooks.router())
    app.include_router(api.router())
    for extra in extra_routers:
        app.include_router(extra)
    return app
