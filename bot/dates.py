"""Natural dates ("завтра в 15", "tomorrow 3pm") read in the user's zone, via timesense.

Measured against dateparser 1.x on the phrases people type (see tests/bot/test_unit_dates.py):
dateparser reads "завтра в 15" as 12:00, "в пятницу в 10" as the 10th of the month and
"сегодня в 18" as now; timesense reads all of them, and splits a task title off the time.

Before timesense, the words people use for a part of the day are read as fixed hours (the
team's convention, shown in the bot's examples): «утром» 9:00, «днём» / «в обед» 13:00,
«после обеда» 14:00, «к вечеру» 17:00, «вечером» 18:00 (English: morning 9:00, afternoon
14:00, evening 18:00); «на следующей неделе» is next Monday; a day without a time is at
10:00. A date that does not exist («31.02», «25.13») raises NoSuchDate naming it, instead of
becoming a task titled "31.02" for today. What it still cannot read is None: the bot asks
again with examples instead of guessing.

A bare hour that could be morning or evening («в 9», «at 9»: 1 to 11, no minutes, no
«утра» / «вечера» / am / pm, no day named) written after noon is Ambiguous: the bot asks
«9:00 или 21:00?» with both moments instead of reading it as 21:00.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from timesense import EventType, TimeSenseParser

MAX_LENGTH = 200
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class When:
    """A moment read from text (aware UTC) and the rest of the text as a title."""

    at: datetime
    title: str


@dataclass(frozen=True)
class Ambiguous:
    """A bare hour after noon: the morning and the evening reading (aware UTC), the title."""

    early: datetime
    late: datetime
    title: str


class NoSuchDate(ValueError):
    """The text names a day that is not in the calendar («31.02»)."""

    def __init__(self, written: str) -> None:
        super().__init__(written)
        self.written = written


# Part-of-day words -> an explicit time timesense reads the same way every time.
_PARTS_OF_DAY = [
    (re.compile(r"\bк\s+вечеру\b", re.IGNORECASE), "в 17:00"),
    (re.compile(r"\bпосле\s+обеда\b", re.IGNORECASE), "в 14:00"),
    (re.compile(r"\bк\s+обеду\b", re.IGNORECASE), "в 12:00"),
    (re.compile(r"\bв\s+обед\b", re.IGNORECASE), "в 13:00"),
    (re.compile(r"\bутром\b", re.IGNORECASE), "в 9:00"),
    (re.compile(r"\bдн[её]м\b", re.IGNORECASE), "в 13:00"),
    (re.compile(r"\bвечером\b", re.IGNORECASE), "в 18:00"),
    (
        re.compile(r"\bна\s+следующей\s+неделе\b", re.IGNORECASE),
        "в понедельник",
    ),  # the coming Monday
    (re.compile(r"\b(?:in\s+the\s+)?morning\b", re.IGNORECASE), "at 9:00"),
    (re.compile(r"\b(?:in\s+the\s+)?afternoon\b", re.IGNORECASE), "at 14:00"),
    (re.compile(r"\b(?:in\s+the\s+)?evening\b", re.IGNORECASE), "at 18:00"),
    (re.compile(r"\bnext\s+week\b", re.IGNORECASE), "monday"),
]
DEFAULT_HOUR = "10:00"
# A day named without a time gets DEFAULT_HOUR; anything else without a time stays unclear.
_DAY_WORD = re.compile(
    r"(сегодня|послезавтра|завтра|понедельник|вторник|сред[уа]|четверг|пятниц|суббот|"
    r"воскресень|январ|феврал|март|апрел|ма[яй]|июн|июл|август|сентябр|октябр|ноябр|декабр|"
    r"today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|"
    r"february|march|april|may|june|july|august|september|october|november|december|"
    r"\d{1,2}[./]\d{1,2})",
    re.IGNORECASE,
)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
# d.m, d/m or d.m.y written as digits; "10.30" with a minute part reads as a time instead.
_DAY_MONTH = re.compile(r"(?<![\d.:/])(\d{1,2})[./](\d{1,2})(?:[./](\d{4}|\d{2}))?(?![\d:])")


# «в 9», «в 9 часов», «at 9», «at 9 o'clock»: an hour without minutes or a part of the day.
_BARE_HOUR = re.compile(
    r"(?:^|\s)(?:в|at)\s+(\d{1,2})(?:\s*(?:час(?:а|ов)?|o'?clock))?(?![\d:.])", re.IGNORECASE
)
_MERIDIEM = re.compile(
    r"(утра|вечера|дня|ночи|\bam\b|\bpm\b|a\.m|p\.m|через|\bin\s+\d)", re.IGNORECASE
)
NOON = 12


def _next_at(local_now: datetime, hour: int) -> datetime:
    moment = local_now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if moment <= local_now:
        moment += timedelta(days=1)
    return moment.astimezone(UTC)


def _ambiguous(text: str, local_now: datetime, title: str) -> Ambiguous | None:
    if local_now.hour < NOON or _MERIDIEM.search(text) or _DAY_WORD.search(text):
        return None
    match = _BARE_HOUR.search(text)
    if match is None or not 1 <= int(match.group(1)) < NOON:
        return None
    hour = int(match.group(1))
    return Ambiguous(_next_at(local_now, hour), _next_at(local_now, hour + NOON), title)


def _check_dates(text: str, today: date) -> None:
    for match in _DAY_MONTH.finditer(text):
        day, month = int(match.group(1)), int(match.group(2))
        year_text = match.group(3)
        if year_text is None and month > 12 and day <= 23 and month <= 59:
            continue  # "10.30": a time written with a dot
        year = int(year_text) if year_text else today.year
        if year_text is not None and len(year_text) == 2:
            year += 2000
        try:
            date(year, month, day)
        except ValueError:
            raise NoSuchDate(match.group(0)) from None


def _normalise(text: str) -> str:
    for pattern, replacement in _PARTS_OF_DAY:
        text = pattern.sub(replacement, text)
    return text


@functools.cache
def _parser() -> TimeSenseParser:
    return TimeSenseParser()


def parse_when(text: str, *, now: datetime, timezone: str) -> When | Ambiguous | None:
    """The future moment the text names in `timezone`, Ambiguous for a bare hour after noon,
    or None when it is unclear or past; NoSuchDate when it names a day the calendar lacks."""
    text = " ".join((text or "").split())
    if not text or len(text) > MAX_LENGTH:
        return None
    local_now = now.astimezone(ZoneInfo(timezone))
    _check_dates(text, local_now.date())
    written = text
    text = _normalise(text)
    found = _read(text, now, timezone)
    if found is not None:
        unsure = _ambiguous(written, local_now, found.title)
        if unsure is not None:
            return unsure
    if found is None and _DAY_WORD.search(text):  # «в понедельник», «8 декабря»: at 10:00
        at = " at " if _LATIN.search(text) else " в "
        found = _read(text + at + DEFAULT_HOUR, now, timezone)
    return found


def _read(text: str, now: datetime, timezone: str) -> When | None:
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
