"""Core configuration: the part of the settings the domain needs, free of any framework."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Visibility = Literal["own", "all"]


@dataclass(frozen=True)
class CoreConfig:
    """Domain settings, built by the composition root from the application settings."""

    default_region: str = "RU"
    timezone: str = "Europe/Moscow"
    locale: str = "ru"
    visibility: Visibility = "own"
    own_numbers: frozenset[str] = field(default_factory=frozenset)  # E.164
    callback_sla_minutes: int = 15
    # The missed-call task's title, "{name}" standing for the client's name or number; the
    # composition root fills it from the locale files in the team's language.
    callback_title: str = "{name}"
    # Edit the screen pop in place as the call is answered and ends (PEREZVON_LIVE_CALL_MESSAGES).
    # Off by default: the edits share the Telegram rate with the next calls' pops, and the pop
    # bench (bench/bot.py) showed its p99 rise from ~0.25 s to ~2 s with them on.
    live_call_messages: bool = False
    create_contacts_for_outbound: bool = False
    ringing_timeout_seconds: int = 600
    invite_ttl_hours: int = 72
    outbox_max_attempts: int = 8
    # Excel: contact imports (issue 10)
    import_max_bytes: int = 20 * 1024 * 1024
    import_max_rows: int = 200_000
    import_batch_size: int = 500
    # Client opt-in links (start=c_<token>) expire this many days after they are issued.
    greeting_link_days: int = 30
    # Documents on cards (issue 18): where the bytes live and the largest file accepted.
    documents_dir: str = "documents"
    documents_storage: Literal["dir", "db"] = "dir"
    documents_max_bytes: int = 20 * 1024 * 1024
