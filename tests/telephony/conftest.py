"""The FastAPI app with the webhook pipeline, driven over HTTP through ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.http import create_app
from core.clock import FakeClock
from core.config import CoreConfig
from core.db import create_bulk_engine, session_factory
from core.drivers.phone_lookup import create_phone_lookup
from telephony_webhooks.context import WebContext
from telephony_webhooks.processor import InboxProcessor
from telephony_webhooks.providers.base import RawRequest
from tests.fakes import pbx_signers, twilio_signer

# Every provider enabled, with the secrets the request builders sign with.
SECRETS = {**pbx_signers.TEST_SECRETS, **twilio_signer.TEST_SECRETS}


@dataclass
class Pbx:
    app: FastAPI
    client: httpx.AsyncClient
    web: WebContext
    processor: InboxProcessor

    async def send(self, request: RawRequest, provider: str) -> httpx.Response:
        """Send an adapter-level RawRequest over HTTP to the provider's route."""
        path = f"/webhooks/{provider}" + (f"/{request.path}" if request.path else "")
        return await self.client.request(
            request.method,
            path,
            content=request.body or None,
            headers={
                **request.headers,
                **({"content-type": request.content_type} if request.content_type else {}),
            },
            params=dict(request.query) or None,
        )


@pytest.fixture
async def pbx(
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    config: CoreConfig,
    clock: FakeClock,
) -> AsyncIterator[Pbx]:
    # As app/wiring.py builds it: on SQLite the processor runs on the inline driver.
    bulk = create_bulk_engine(database_url)
    lookup = create_phone_lookup(database_url, config=config, sessions=sessions)
    web = WebContext(
        sessions=sessions,
        config=config,
        clock=clock,
        provider_secrets=SECRETS,
        process_inbox=False,
        processor_sessions=session_factory(bulk) if bulk else None,
        phone_lookup=lookup,
    )
    app = create_app(web)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="https://crm.example.com"
            ) as c:
                yield Pbx(app=app, client=c, web=web, processor=InboxProcessor(web))
    finally:
        await lookup.close()
        if bulk is not None:
            await bulk.dispose()
