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
    # The edits are the outbox's lower lane (bot/delivery.py): they never go before a new
    # message for the chat nor take the room the next pop needs, so they cost pops no speed.
    live_call_messages: bool = True
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
    # Client chats in the company bot (issue 17): an unanswered client message becomes a
    # "reply to the client" task after this many minutes.
    chat_sla_minutes: int = 15
    # When the team works, e.g. "mon-fri 09:00-18:00" in `timezone`; "" = always open.
    working_hours: str = ""
    # Who gets a new client: "on-duty" (the on-duty person, else round-robin) or "round-robin".
    client_routing: str = "on-duty"
    # Messages a minute one client may send before they are slowed down (one notice).
    client_rate_per_minute: int = 20
    # The reply task's stored title, "{name}" standing for the client (locale files).
    reply_title: str = "{name}"
