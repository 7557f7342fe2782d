"""The report periods a manager picks in the bot, as [start, end) in UTC from local midnights."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from core.reports.digests import current_period_start, local_bounds, previous_period

REPORT_PERIODS = ("yesterday", "this_week", "last_week", "this_month", "last_month")


def report_days(code: str, today: date) -> tuple[date, date]:
    """First and last day (inclusive) of a picked period; "this" periods end today."""
    if code == "yesterday":
        return previous_period("daily", today)
    if code == "this_week":
        return current_period_start("weekly", today), today
    if code == "last_week":
        return previous_period("weekly", today)
    if code == "this_month":
        return current_period_start("monthly", today), today
    if code == "last_month":
        return previous_period("monthly", today)
    raise ValueError(f"unknown report period {code!r}")


class ReportPeriod(NamedTuple):
    first: date  # local days, inclusive
    last: date
    start: datetime  # UTC instants of the local midnights, the end exclusive
    end: datetime


def report_period(code: str, now: datetime, timezone: str) -> ReportPeriod:
    """The picked period in the user's zone: its local days and its UTC bounds."""
    zone = ZoneInfo(timezone)
    first, last = report_days(code, now.astimezone(zone).date())
    return ReportPeriod(first, last, *local_bounds(first, last, zone))


def days_label(first: date, last: date) -> str:
    """`2026-11-01_2026-11-30` for file names (one date for one day)."""
    return f"{first:%Y-%m-%d}" if first == last else f"{first:%Y-%m-%d}_{last:%Y-%m-%d}"
