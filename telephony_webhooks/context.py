"""What the PBX webhooks need from the composition root."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock, SystemClock
from core.config import CoreConfig
from core.drivers.phone_lookup import PhoneLookup


@dataclass
class WebContext:
    """Wiring for the PBX webhooks, built by app/ (or by tests)."""

    sessions: async_sessionmaker[AsyncSession]
    config: CoreConfig = field(default_factory=CoreConfig)
    clock: Clock = field(default_factory=SystemClock)
    provider_secrets: Mapping[str, str] = field(default_factory=dict)
    public_url: str | None = None
    account_timezone: str = "Europe/Moscow"
    redirect_to_owner: bool = False
    process_inbox: bool = True  # run the inbox processor in this process
    # Sessions for the inbox processor's bulk work (core.db.create_bulk_engine); None: `sessions`.
    processor_sessions: async_sessionmaker[AsyncSession] | None = None
    # Caller look-ups without a session (core.drivers.phone_lookup); None: through `sessions`.
    phone_lookup: PhoneLookup | None = None
    # A row that fails this many times is parked with its error (PEREZVON_INBOX_MAX_ATTEMPTS).
    inbox_max_attempts: int = 5
    # Per provider, the networks it may call from (unset: any address; see sources.py).
    allowed_sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    trusted_proxy_header: str | None = None  # e.g. X-Forwarded-For, from trusted_proxies only
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
