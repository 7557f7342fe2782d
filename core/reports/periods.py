"""Which period a digest compares with, and the moment its figures are taken at.

1. A period whose bounds are local midnights and which is one calendar unit is a day, an
   ISO week (Monday to Sunday) or a calendar month; it compares with the previous unit
   (November with all of October, not with the 30 days before it).
2. Any other period compares with the period of the same length just before it.
3. A period that has not ended is "running": its figures are taken as of now, and the
   previous period's as of the same local hour of its own (this Wednesday 14:00 against last
   Wednesday 14:00; the 7th of this month 14:00 against the 7th of the last).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.reports.dto import PeriodKind


@dataclass(frozen=True, slots=True)
class Comparison:
    kind: PeriodKind
    previous_start: datetime
    previous_end: datetime
    as_of: datetime  # the end, or now while the period runs
    previous_as_of: datetime


def compare(start: datetime, end: datetime, now: datetime, tz: str) -> Comparison:
    """The previous period of [start, end) and the cut-offs of both (see the module doc)."""
    zone = ZoneInfo(tz)
    first, last = start.astimezone(zone), end.astimezone(zone)
    kind = _kind(first, last)
    if kind == "day":
        previous_first = _midnight(first.date() - timedelta(days=1), zone)
    elif kind == "week":
        previous_first = _midnight(first.date() - timedelta(days=7), zone)
    elif kind == "month":
        previous_first = _midnight((first.date() - timedelta(days=1)).replace(day=1), zone)
    else:
        previous_first = start - (end - start)
    previous_start = previous_first.astimezone(UTC)
    as_of = min(max(now, start), end)
    previous_as_of = start
    if as_of < end:
        # The same local wall-clock distance into the previous period (a DST hour aside).
        elapsed = as_of.astimezone(zone).replace(tzinfo=None) - first.replace(tzinfo=None)
        local = previous_first.astimezone(zone).replace(tzinfo=None) + elapsed
        previous_as_of = min(local.replace(tzinfo=zone).astimezone(UTC), start)
    return Comparison(kind, previous_start, start, as_of, previous_as_of)


def _midnight(day: object, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)  # type: ignore[arg-type]


def _kind(first: datetime, last: datetime) -> PeriodKind:
    if first.time() != time() or last.time() != time():
        return "custom"
    days = (last.date() - first.date()).days
    if days == 1:
        return "day"
    if days == 7 and first.weekday() == 0:
        return "week"
    next_month = (first.date().replace(day=28) + timedelta(days=4)).replace(day=1)
    if first.day == 1 and last.date() == next_month:
        return "month"
    return "custom"
