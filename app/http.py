"""The one ASGI app, composed from what each adapter offers.

- `api/`: the REST API v1 router and its error handlers;
- `telephony_webhooks/`: the PBX webhooks as a plain ASGI app served ahead of FastAPI, the same
  routes for /docs, and a lifespan (inbox writer, inbox processor);
- `app/health.py`: /healthz and /readyz;
- `extra_routers`: more routers, e.g. the bot's `/telegram/webhook` when it runs in webhook mode.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

import api
from api.auth import ApiContext
from app import docs, health
from core.telemetry import LOG_CONTEXT
from telephony_webhooks.context import WebContext
from telephony_webhooks.pbx import PbxWebhooks

REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
TITLE = "Perezvon"
DESCRIPTION = "Operational CRM: PBX webhooks, caller look-ups and the REST API v1."


class PerezvonApp(FastAPI):
    """FastAPI with some path prefixes served first by plain ASGI apps (the PBX webhooks).

    Every other path, and lifespan, goes through FastAPI as usual.
    """

    fast_paths: tuple[tuple[str, ASGIApp], ...] = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._serve(scope, receive, send)
            return
        # Every log line written while this request is served names it (app/logs.py).
        token = LOG_CONTEXT.set({"request_id": request_id(scope)})
        try:
            await self._serve(scope, receive, send)
        finally:
            LOG_CONTEXT.reset(token)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.fast_paths:
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            for prefix, fast in self.fast_paths:
                if path.startswith(prefix):
                    await fast(scope, receive, send)
                    return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # Starlette has already answered an unexpected error with `api.errors.unexpected_error`
        # (a JSON 500, the traceback logged) and re-raises it for the server's sake; a server
        # that sees it closes the keep-alive connection under the client's next request.
        with contextlib.suppress(Exception):
            await super().__call__(scope, receive, send)


def request_id(scope: Scope) -> str:
    """The client's X-Request-ID when it is a plain token (a proxy's), else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id" and REQUEST_ID.fullmatch(value):
            return str(value.decode("ascii"))
    return uuid.uuid4().hex[:16]


def create_app(
    web: WebContext,
    *,
    extra_routers: Sequence[APIRouter] = (),
    lifespan_hooks: Sequence[Lifespan] = (),
) -> PerezvonApp:
    """Build the app around the given wiring; `extra_routers` lets app/ add e.g. the bot webhook."""
    pbx = PbxWebhooks(web)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for hook in lifespan_hooks:
                await stack.enter_async_context(hook(app))
            await stack.enter_async_context(pbx.lifespan())
            yield

    app = PerezvonApp(
        title=TITLE,
        version=api.VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # app/docs.py serves /docs and /redoc with local assets
        redoc_url=None,
    )
    docs.install(app)
    api.install_error_handlers(app)
    app.state.api = ApiContext(sessions=web.sessions, config=web.config, clock=web.clock)
    app.state.pbx = pbx
    app.fast_paths = ((pbx.prefix + "/", pbx.asgi),)
    app.include_router(health.router(web.sessions))
    app.include_router(pbx.router())
    app.include_router(api.router())
    for extra in extra_routers:
        app.include_router(extra)
    return app
