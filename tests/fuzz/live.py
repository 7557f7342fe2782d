"""A live app on the test database, driven from synchronous Hypothesis tests.

Hypothesis runs plain functions; the app and its engine live on an event loop of their own
(`Live.call` runs one coroutine on it), so the fuzzers can use any database fixture.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.http import PerezvonApp, create_app
from core.activities import service as activities
from core.config import CoreConfig
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.db import create_bulk_engine, session_factory, session_scope
from core.deals import service as deals
from core.users import api_keys
from core.users import service as users
from telephony_webhooks.context import WebContext
from telephony_webhooks.processor import InboxProcessor
from tests.conftest import PG_URL, emptied_engine
from tests.fakes.clock import FakeClock
from tests.telephony.conftest import SECRETS

T = TypeVar("T")
BASE = "http://crm.test"
REPORT = os.environ.get("PEREZVON_FUZZ_REPORT")  # a file to append the tallies to (JSON lines)


@dataclass
class Live:
    loop: asyncio.AbstractEventLoop
    engine: AsyncEngine
    bulk: AsyncEngine | None
    app: PerezvonApp
    web: WebContext
    client: httpx.AsyncClient
    api_key: str
    stack: AsyncExitStack
    tally: Counter[str] = field(default_factory=Counter)

    @classmethod
    def start(cls, database_url: str) -> Live:
        loop = asyncio.new_event_loop()
        return loop.run_until_complete(cls._start(loop, database_url))

    @classmethod
    async def _start(cls, loop: asyncio.AbstractEventLoop, database_url: str) -> Live:
        engine = await emptied_engine(database_url)
        bulk = create_bulk_engine(database_url)
        clock = FakeClock()
        web = WebContext(
            sessions=session_factory(engine),
            config=CoreConfig(own_numbers=frozenset({"+74950000000"})),
            clock=clock,
            provider_secrets=SECRETS,
            process_inbox=False,
            processor_sessions=session_factory(bulk) if bulk else None,
        )
        api_key = await _seed(web)
        app = create_app(web)
        stack = AsyncExitStack()
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
        return cls(loop, engine, bulk, app, web, client, api_key, stack)

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def request(self, kwargs: dict[str, Any]) -> httpx.Response:
        """Send a request built by schemathesis (`Case.as_transport_kwargs`)."""
        allowed = ("method", "url", "params", "headers", "cookies", "json", "content", "data")
        arguments = {k: v for k, v in kwargs.items() if k in allowed and v is not None}
        if isinstance(arguments.get("data"), str | bytes):
            arguments["content"] = arguments.pop("data")
        if "cookies" in arguments:
            self.client.cookies = httpx.Cookies(arguments.pop("cookies"))
        return self.call(self.client.request(**arguments))

    def count(self, response: httpx.Response) -> None:
        self.tally["requests"] += 1
        self.tally[f"{response.status_code // 100}xx"] += 1

    def drain(self) -> int:
        return self.call(InboxProcessor(self.web).drain())

    def report(self, name: str) -> None:
        if REPORT:
            database = "postgresql" if PG_URL else "sqlite"
            line = {"test": name, "database": database, **self.tally}
            with open(REPORT, "a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")

    def stop(self) -> None:
        async def close() -> None:
            await self.client.aclose()
            await self.stack.aclose()
            await self.engine.dispose()
            if self.bulk is not None:
                await self.bulk.dispose()

        self.call(close())
        self.loop.close()


async def _seed(web: WebContext) -> str:
    """An admin key, and a few rows so that ids 1 and 2 exist for path parameters."""
    system = Actor.system("fuzz")
    async with session_scope(web.sessions) as session:
        ctx = Ctx(session=session, config=web.config, clock=web.clock)
        _key, plain = await api_keys.create(ctx, actor=system, name="fuzz", role="admin")
        anna = await users.create_user(
            ctx, actor=system, name="Анна", role="sales", telegram_user_id=1, extensions=["101"]
        )
        for number, name in (("+79161234567", "Иван"), ("+79031234567", "Мария")):
            contact = await contacts.create_contact(
                ctx, actor=system, name=name, phones=[number], owner_id=anna.id
            )
            await deals.create(ctx, actor=system, title=f"Заказ {name}", contact_id=contact.id)
            await activities.plan(
                ctx,
                actor=system,
                title="Перезвонить",
                contact_id=contact.id,
                due_at=web.clock.now() + timedelta(hours=1),
            )
    return plain
