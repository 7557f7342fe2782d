"""What the PBX adapter offers the composed HTTP app: an ASGI app, its /docs routes, a lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import APIRouter

from telephony_webhooks import webhooks
from telephony_webhooks.context import WebContext
from telephony_webhooks.inbox import InboxWriter
from telephony_webhooks.processor import InboxProcessor


class PbxWebhooks:
    """`/webhooks/...`: served by `asgi` ahead of FastAPI; `router()` declares them for /docs."""

    prefix = webhooks.PREFIX

    def __init__(self, web: WebContext) -> None:
        self.web = web
        self.inbox = InboxWriter(web.sessions)
        self.asgi = webhooks.WebhookApp(web, self.inbox)
        self.processor: InboxProcessor | None = None

    def router(self) -> APIRouter:
        return webhooks.router(self.web, self.inbox)

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """The inbox writer, and the inbox processor when this process runs it."""
        async with AsyncExitStack() as stack:
            await self.inbox.start()
            stack.push_async_callback(self.inbox.stop)
            if self.web.process_inbox:
                self.processor = InboxProcessor(self.web, wake=self.inbox.stored, inbox=self.inbox)
                await self.processor.start()
                stack.push_async_callback(self.processor.stop)
            yield
