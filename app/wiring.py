"""Composition root: settings -> engine, sessions, config, the HTTP app (built on demand: CLI
commands use the container without loading FastAPI)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.settings import Settings
from core.clock import Clock, SystemClock
from core.config import CoreConfig
from core.context import Ctx
from core.db import (
    create_bulk_engine,
    create_engine,
    create_read_engine,
    session_factory,
    session_scope,
)
from core.drivers.phone_lookup import PhoneLookup, create_phone_lookup
from telephony_webhooks.context import WebContext

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.components import Component
    from app.metrics import MetricsEndpoint

T = TypeVar("T")


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    config: CoreConfig
    clock: Clock
    bulk_engine: AsyncEngine | None = None  # the inbox processor's, on a SQLite file
    read_engine: AsyncEngine | None = None  # read-only, for the outbox's call messages (SQLite)
    phone_lookup: PhoneLookup | None = None  # webhook caller look-ups without a session
    # The PBX inbox writer's turn at the SQLite write lock, for other writers of this process
    # (the bot's outbox sender); set while the HTTP app runs.
    write_turn: Callable[[], AbstractAsyncContextManager[None]] | None = None

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> Container:
        engine = create_engine(settings.database_url)
        sessions = session_factory(engine)
        config = settings.core_config()
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            config=config,
            clock=clock or SystemClock(),
            bulk_engine=create_bulk_engine(settings.database_url),
            read_engine=create_read_engine(settings.database_url),
            phone_lookup=create_phone_lookup(
                settings.database_url, config=config, sessions=sessions
            ),
        )

    async def dispose(self) -> None:
        """Close every pooled connection (end of the process, command or test)."""
        await self.engine.dispose()
        for extra in (self.bulk_engine, self.read_engine):
            if extra is not None:
                await extra.dispose()
        if self.phone_lookup is not None:
            await self.phone_lookup.close()

    async def run(self, use_case: Callable[[Ctx], Awaitable[T]]) -> T:
        """Run one use case in its own session (CLI commands, jobs)."""
        async with session_scope(self.sessions) as session:
            return await use_case(Ctx(session=session, config=self.config, clock=self.clock))

    @classmethod
    async def run_once(cls, settings: Settings, use_case: Callable[[Ctx], Awaitable[T]]) -> T:
        """Run one use case in a container of its own, then close it (a CLI command)."""
        container = cls.build(settings)
        try:
            return await container.run(use_case)
        finally:
            await container.dispose()

    def web_context(self) -> WebContext:
        settings = self.settings
        return WebContext(
            sessions=self.sessions,
            config=self.config,
            clock=self.clock,
            provider_secrets=settings.provider_secrets(),
            public_url=settings.public_url,
            account_timezone=settings.zadarma_timezone or settings.timezone,
            redirect_to_owner=settings.zadarma_redirect,
            process_inbox=settings.process_inbox,
            processor_sessions=session_factory(self.bulk_engine) if self.bulk_engine else None,
            phone_lookup=self.phone_lookup,
            inbox_max_attempts=settings.inbox_max_attempts,
            allowed_sources=settings.allowed_sources(),
            trusted_proxy_header=settings.trusted_proxy_header,
            trusted_proxies=tuple(settings.trusted_proxies),
        )

    def metrics_endpoint(self) -> MetricsEndpoint:
        """What `GET /metrics` shows and to whom (loopback, trusted proxies, or the token)."""
        from app.metrics import MetricsEndpoint

        token = self.settings.metrics_token
        engines = {"main": self.engine}
        if self.bulk_engine is not None:
            engines["inbox"] = self.bulk_engine
        return MetricsEndpoint(
            sessions=self.sessions,
            clock=self.clock,
            engines=engines,
            token=token.get_secret_value() if token else None,
            trusted=tuple(self.settings.trusted_proxies),
        )

    def http_app(
        self, components: Sequence[Component] = (), *, freeze_heap: bool = False
    ) -> FastAPI:
        """The one HTTP app; `components` (app/components.py) start and stop in its lifespan;
        `freeze_heap`: once they have started, the start-up heap leaves the collector's walks
        (app/heap.py; `perezvon run`)."""
        from app.heap import freeze_startup_heap
        from app.http import create_app  # FastAPI loads only for the commands that serve

        container = self

        @asynccontextmanager
        async def run_components(app: FastAPI) -> AsyncIterator[None]:
            started: list[Component] = []
            pbx = getattr(app.state, "pbx", None)
            container.write_turn = pbx.inbox.turn if pbx is not None else None
            try:
                for component in components:
                    await component.start(container)
                    started.append(component)
                if freeze_heap:
                    freeze_startup_heap()
                yield
            finally:
                for component in reversed(started):
                    await component.stop()
                await container.dispose()

        routers = [router for component in components for router in component.routers(self)]
        routers.append(self.metrics_endpoint().router())  # GET /metrics (app/metrics.py)
        app = create_app(self.web_context(), extra_routers=routers, lifespan_hooks=[run_components])
        app.state.components = list(components)  # /readyz asks each for readiness (app/health.py)
        return app
