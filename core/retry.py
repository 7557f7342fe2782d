"""One backoff policy for work retried from a table: the outbox and the telephony inbox."""

from __future__ import annotations

from datetime import timedelta

BACKOFF_BASE_SECONDS = 10
BACKOFF_MAX_SECONDS = 3600


def backoff(attempts: int) -> timedelta:
    """The wait after `attempts` failed tries: 10 s, 20 s, 40 s … capped at an hour."""
    return timedelta(
        seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    )
