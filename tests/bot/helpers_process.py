"""`perezvon run` in one process for the end-to-end tests: the HTTP app, the inbox processor and
the bot with its sender, against the fake Bot API, and the generic PBX's webhooks posted to it.

A test seeds its people and clients, enters `perezvon(...)` and drives the PBX side with
`webhook(...)`; what Telegram was asked to do is read from the fake.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from app.bot_component import BotComponent
from app.settings import Settings
from app.wiring import Container
from core.context import Ctx
from tests.fakes.telegram_api import TOKEN, FakeTelegram

GENERIC = "generic-bot-token"
# How long a test waits for start-up and for the messages: generous, so a loaded machine is not
# a failure; how fast they came is asserted separately, from the recorded arrival times.
PATIENCE = 30.0
HEADERS = {"x-perezvon-token": GENERIC}


@dataclass(frozen=True)
class Running:
    """The running process: its HTTP app as a client sees it, its container and its bot."""

    http: httpx.AsyncClient
    container: Container
    bot: BotComponent


def settings(database_url: str, fake: FakeTelegram, **more: Any) -> Settings:
    """The settings of a process that talks to `fake` and takes the generic PBX's webhooks."""
    return Settings(
        database_url=database_url,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake.url,
        generic_token=GENERIC,  # type: ignore[arg-type]
        **more,
    )


@asynccontextmanager
async def perezvon(
    configured: Settings, seed: Callable[[Ctx], Awaitable[None]], **bot_options: Any
) -> AsyncIterator[Running]:
    """The process, its database seeded first, running until the block ends."""
    container = Container.build(configured)
    await container.run(seed)
    bot = BotComponent(container, **bot_options)
    app = container.http_app([bot])
    async with app.router.lifespan_context(app):
        await bot.runtime.wait_ready(within=PATIENCE)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pbx") as http:
            yield Running(http, container, bot)


def webhook(kind: str, call_id: str, caller: str, **fields: Any) -> dict[str, Any]:
    """A generic PBX event of an inbound call from `caller`, happening now."""
    return {
        "event": kind,
        "call_id": call_id,
        "direction": "in",
        "from": caller,
        "did": "74951234567",
        "timestamp": int(time.time()),
        **fields,
    }
