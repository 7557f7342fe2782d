"""Working hours (setting WORKING_HOURS), in the team's zone (TIMEZONE).

Grammar: segments separated by ";" or ",", each `<days> <HH:MM>-<HH:MM>`, days a name
(mon … sun), a range (`mon-fri`) or a list (`mon,wed` is not allowed: use two segments),
e.g. `mon-fri 09:00-18:00; sat 10:00-14:00`. An end before the start runs past midnight
(`fri 22:00-02:00`). Empty: always open. A mistake is a ValueError naming the segment (the
settings report it at start-up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SEGMENT = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time


def _time(value: str, segment: str) -> time:
    hours, minutes = (int(part) for part in value.split(":"))
    if hours == 24 and minutes == 0:
        return time.max
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"{segment!r}: {value} is not a time of day")
    return time(hours, minutes)


def parse(spec: str) -> tuple[Window, ...]:
    """The windows of a WORKING_HOURS value (empty: none, i.e. always open)."""
    windows = []
    for raw in re.split(r"[;,]", spec.strip().lower()):
        segment = " ".join(raw.split())
        if not segment:
            continue
        match = _SEGMENT.match(segment)
        if match is None or match["first"] not in DAYS or (match["last"] or "mon") not in DAYS:
            raise ValueError(
                f"{segment!r} is not like 'mon-fri 09:00-18:00' (days mon…sun, times HH:MM)"
            )
        first = DAYS.index(match["first"])
        last = DAYS.index(match["last"]) if match["last"] else first
        days = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        start, end = _time(match["start"], segment), _time(match["end"], segment)
        if start == end:
            raise ValueError(f"{segment!r}: the window is empty")
        windows.append(Window(frozenset(days), start, end))
    return tuple(windows)


def is_open(spec: str, at: datetime, zone: str) -> bool:
    """Whether the team works at `at` (aware) under `spec` in `zone`; empty spec: always."""
    windows = parse(spec)
    if not windows:
        return True
    local = at.astimezone(ZoneInfo(zone))
    now, day = local.time(), local.weekday()
    for window in windows:
        if window.start < window.end:
            if day in window.days and window.start <= now < window.end:
                return True
        elif (day in window.days and now >= window.start) or (
            (day - 1) % 7 in window.days and now < window.end
        ):
            return True
    return False
