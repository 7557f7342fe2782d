"""Natural dates ("завтра в 15", "tomorrow 3pm") read in the user's zone, via timesense.

Measured against dateparser 1.x on the phrases people type (see tests/bot/test_unit_dates.py):
dateparser reads "завтра в 15" as 12:00, "в пятницу в 10" as the 10th of the month and
"сегодня в 18" as now; timesense reads all of them, and splits a task title off the time.
What it cannot read (or reads only fuzzily, like "в понедельник утром") is None: the bot
asks again with examples instead of guessing.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from timesense import EventType, TimeSenseParser

MAX_LENGTH = 200
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class When:
    """A moment read from text (aware UTC) and the rest of the text as a title."""

    at: datetime
    title: str


@functools.cache
def _parser() -> TimeSenseParser:
    return TimeSenseParser()


def parse_when(text: str, *, now: datetime, timezone: str) -> When | None:
    """The future moment the text names in `timezone`, or None when it is unclear or past."""
    text = " ".join((text or "").split())
    if not text or len(text) > MAX_LENGTH:
        return None
    try:
        result = _parser().parse(text, now=now.astimezone(ZoneInfo(timezone)), tz=timezone)
    except Exception:  # a parser bug on odd input must not cost the user their dialog
        log.warning("timesense failed on %r", text, exc_info=True)
        return None
    if result is None or result.event_type not in (EventType.REMINDER, EventType.CALENDAR):
        return None
    moment = result.when
    if not isinstance(moment, datetime):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    moment = moment.astimezone(UTC)
    if moment <= now:
        return None
    return When(at=moment, title=(result.title or "").strip())
