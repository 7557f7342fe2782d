"""What the bot's handlers need from the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.config import CoreConfig


@dataclass
class BotDeps:
    """Session factory, domain config, clock and a few bot facts."""

    sessions: async_sessionmaker[AsyncSession]
    config: CoreConfig
    clock: Clock
    bot_username: str | None = None
    default_locale: str = "ru"
    # Sessions for many short writes (core.db.create_bulk_engine: SQLite on the event loop's
    # thread), used by the Business chats' group commit; None: `sessions`.
    bulk_sessions: async_sessionmaker[AsyncSession] | None = None
    # Read-only sessions that never wait behind the loop's other work (core.db.
    # create_read_engine: SQLite on the event loop's thread), used by the outbox to render
    # call messages (the screen pop, the post-call prompt); None: `sessions`.
    read_sessions: async_sessionmaker[AsyncSession] | None = None
