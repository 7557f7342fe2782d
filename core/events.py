"""The normalized call event: what every PBX adapter turns its webhooks into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

EventKind = Literal["ringing", "answered", "ended", "final", "recording"]
Direction = Literal["in", "out", "internal"]
EndStatus = Literal["answered", "missed", "busy", "failed"]


@dataclass(frozen=True)
class CallEvent:
    """One fact about one call, in provider-neutral terms.

    - `ringing`: the call exists and rings somewhere (maybe at `extension`).
    - `answered`: someone picked up (`extension` says who, when known).
    - `ended`: a leg or the call hung up; `status` says how it ended, if known.
    - `final`: the provider's final record of the whole call; its durations and
      status overwrite whatever earlier events said.
    - `recording`: a recording reference (URL or provider id) for the call.

    Numbers are raw, as the PBX sent them; the core normalizes them. Times are aware UTC.
    """

    provider: str
    provider_call_id: str
    kind: EventKind
    occurred_at: datetime
    direction: Direction | None = None
    client_number: str | None = None
    our_number: str | None = None
    extension: str | None = None
    status: EndStatus | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    ring_seconds: int | None = None
    talk_seconds: int | None = None
    recording: str | None = None
    disposition: str | None = None
