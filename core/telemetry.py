"""What the running process reports about itself: a port for measurements, and log context.

1. `Telemetry` is the sink: core and the adapters call `telemetry().<event>(...)` where a
   thing happens (a webhook answered, a row applied, a Telegram request done); the default
   sink does nothing, and app/metrics.py installs one that records Prometheus metrics.
   Calls are cheap and never raise into the caller.
2. `pop_origins` remembers, per call id, when its ringing webhook was received, so the
   outbox sender can time the screen pop from webhook to Telegram (same process only: the
   deployment model is one process per instance).
3. `LOG_CONTEXT` names what is being handled right now (a request id, a Telegram update
   id, an inbox row id); app/logs.py adds it to every log line written meanwhile.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Literal

SendResult = Literal["ok", "429", "403", "4xx", "5xx", "network", "error"]


class Telemetry:
    """The sink for measurements; this base records nothing (tests, CLI commands)."""

    def webhook_answered(self, provider: str, status: int) -> None:
        """A PBX webhook was answered with `status` (provider "unknown" for no route)."""

    def lookup_done(self, result: str, seconds: float) -> None:
        """A caller look-up answered: `result` is found, unknown, timeout or error."""

    def inbox_applied(self, rows: int) -> None:
        """The inbox processor applied (or settled) this many rows."""

    def inbox_parked(self) -> None:
        """An inbox row failed too often and was parked."""

    def telegram_sent(self, method: str, result: SendResult, seconds: float) -> None:
        """One outbox request to the Bot API finished with `result`."""

    def screen_pop_delivered(self, seconds: float) -> None:
        """A screen pop reached Telegram this long after its ringing webhook arrived."""

    def reminder_due(self, lateness_seconds: float) -> None:
        """A reminder was enqueued this long after its `remind_at`."""

    def job_ran(self, job: str, *, failed: bool, seconds: float) -> None:
        """A scheduler job run finished."""


_current: Telemetry = Telemetry()


def telemetry() -> Telemetry:
    """The installed sink (a no-op one until app/ installs another)."""
    return _current


def install(sink: Telemetry) -> Telemetry:
    """Make `sink` the process' sink; returns the one it replaces (to restore it)."""
    global _current
    previous, _current = _current, sink
    return previous


class PopOrigins:
    """When each call's ringing webhook arrived, for the last `size` calls."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._received: OrderedDict[int, datetime] = OrderedDict()

    def remember(self, call_id: int, received_at: datetime) -> None:
        """The first ringing webhook of a call counts; later ones are the same ring."""
        if call_id in self._received:
            return
        self._received[call_id] = received_at
        if len(self._received) > self._size:
            self._received.popitem(last=False)

    def take(self, call_id: int) -> datetime | None:
        """When the call's ringing webhook arrived (once: a second pop is not timed)."""
        return self._received.pop(call_id, None)

    def clear(self) -> None:
        """Forget every call (a fresh database reuses call ids: tests, a restore)."""
        self._received.clear()


pop_origins = PopOrigins()

# What is being handled now: {"request_id": …, "update_id": …, "inbox_row_id": …}.
LOG_CONTEXT: ContextVar[dict[str, object] | None] = ContextVar("perezvon_log_context", default=None)


@contextmanager
def log_context(**values: object) -> Iterator[None]:
    """Add these names to every log line written inside the block (nested blocks merge)."""
    token = LOG_CONTEXT.set({**(LOG_CONTEXT.get() or {}), **values})
    try:
        yield
    finally:
        LOG_CONTEXT.reset(token)
