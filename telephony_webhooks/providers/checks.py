"""What every parsed event must satisfy, whichever provider sent it.

The route runs `parse_checked` before it stores a request, and the processor runs it again
on the stored request, so a 200 means the event can be applied: its times lie in a sane
window and its text carries no control characters (PostgreSQL refuses NUL in text, SQLite
keeps it; both now see the same cleaned value).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from core.events import CallEvent
from telephony_webhooks.providers.base import (
    ProviderError,
    ProviderOptions,
    RawRequest,
    received_at,
)

if TYPE_CHECKING:
    from telephony_webhooks.providers.registry import Adapter

EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
# A PBX clock may run a little ahead; a day ahead of our receipt is a wrong date, not skew.
LATEST_AFTER_RECEIPT = timedelta(days=1)
TIME_FIELDS = ("occurred_at", "started_at", "answered_at", "ended_at")
TEXT_FIELDS = (
    "provider_call_id",
    "client_number",
    "our_number",
    "extension",
    "recording",
    "disposition",
)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def without_controls(value: str) -> str:
    """The text with C0 control characters and DEL removed (keys, numbers, ids)."""
    if value.isprintable():  # the common case, checked in C
        return value
    return CONTROL_CHARACTERS.sub("", value)


def parse_checked(
    adapter: Adapter,
    request: RawRequest,
    options: ProviderOptions,
    wire_names: Mapping[str, str] | None = None,
) -> list[CallEvent]:
    """The adapter's events, cleaned and checked; ProviderError(400) names what is wrong
    (`wire_names`: the request field each event time comes from, for the message)."""
    events = adapter.parse(request, options)
    latest = (received_at(request) or datetime.now(UTC)) + LATEST_AFTER_RECEIPT
    return [_checked(event, latest, wire_names or {}) for event in events]


def _checked(event: CallEvent, latest: datetime, wire_names: Mapping[str, str]) -> CallEvent:
    for name in TIME_FIELDS:
        moment: datetime | None = getattr(event, name)
        if moment is not None and not EARLIEST_EVENT_TIME <= moment <= latest:
            field = wire_names.get(name, name)
            raise ProviderError(
                400,
                f"field {field!r}: time {moment.isoformat()} is outside the accepted window "
                f"(2000-01-01 to one day after receipt)",
            )
    cleaned: dict[str, str] = {}
    for name in TEXT_FIELDS:
        text: str | None = getattr(event, name)
        if text is not None and not text.isprintable():
            cleaned[name] = without_controls(text)
    if not cleaned:
        return event
    if cleaned.get("provider_call_id") == "":
        raise ProviderError(400, "the call id is made of control characters only")
    return replace(event, **cleaned)  # type: ignore[arg-type]
