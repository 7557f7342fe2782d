"""Composition root: settings -> engine, sessions, config, the HTTP app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.settings import Settings
from core.clock import Clock, SystemClock
from core.config import CoreConfig
from core.context import Ctx
from core.db import create_bulk_engine, create_engine, session_factory, session_scope
from telephony_webhooks.app import Lifespan, create_app
from telephony_webhooks.context import WebContext

T = TypeVar("T")


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    config: CoreConfig
    clock: Clock
    bulk_engine: AsyncEngine | None = None  # the inbox processor's, on a SQLite file

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> Container:
        engine = create_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            config=settings.core_config(),
            clock=clock or SystemClock(),
            bulk_engine=create_bulk_engine(settings.database_url),
        )

    async def dispose(self) -> None:
        """Close every pooled connection (end of the process, command or test)."""
        await self.engine.dispose()
        if self.bulk_engine is not None:
            await self.bulk_engine.dispose()

    async def run(self, use_case: Callable[[Ctx], Awaitable[T]]) -> T:
        """Run one use case in its own session (CLI commands, jobs)."""
        async with session_scope(self.sessions) as session:
            return await use_case(Ctx(session=session, config=self.config, clock=self.clock))

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
        )

    def http_app(
        self, *, extra_routers: Sequence[APIRouter] = (), lifespan_hooks: Sequence[Lifespan] = ()
    ) -> FastAPI:
        """The one HTTP app; `extra_routers` and `lifespan_hooks` plug in e.g. the bot."""
        container = self

        @asynccontextmanager
        async def dispose_engine(_app: FastAPI) -> AsyncIterator[None]:
            yield
            await container.dispose()

        return create_app(
            self.web_context(),
            extra_routers=extra_routers,
            lifespan_hooks=[dispose_engine, *lifespan_hooks],
        )
