"""Report periods picked in the bot, in the user's zone; /digest arguments as typed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.handlers.reports import parse_digest_args
from bot.periods import REPORT_PERIODS, report_days, report_period


def test_periods_on_the_first_of_january_reach_back_into_the_old_year() -> None:
    today = date(2027, 1, 1)  # a Friday
    assert report_days("yesterday", today) == (date(2026, 12, 31), date(2026, 12, 31))
    assert report_days("this_week", today) == (date(2026, 12, 28), today)
    assert report_days("last_week", today) == (date(2026, 12, 21), date(2026, 12, 27))
    assert report_days("this_month", today) == (today, today)
    assert report_days("last_month", today) == (date(2026, 12, 1), date(2026, 12, 31))
    with pytest.raises(ValueError, match="yearly"):
        report_days("yearly", today)


def test_bounds_are_local_midnights_and_a_dst_day_is_23_hours() -> None:
    # 31 Mar 2025, 10:00 in Berlin: yesterday (30 Mar) lost an hour to summer time.
    now = datetime(2025, 3, 31, 8, 0, tzinfo=UTC)
    period = report_period("yesterday", now, "Europe/Berlin")
    assert (period.first, period.last) == (date(2025, 3, 30), date(2025, 3, 30))
    assert period.start == datetime(2025, 3, 29, 23, 0, tzinfo=UTC)
    assert period.end == datetime(2025, 3, 30, 22, 0, tzinfo=UTC)
    for code in REPORT_PERIODS:
        bounds = report_period(code, now, "Asia/Vladivostok")
        assert bounds.start < bounds.end <= datetime(2025, 3, 31, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("daily", ("daily", None)),
        ("Weekly 8", ("weekly", 8)),
        ("monthly 07:00", ("monthly", 7)),
        ("off", ("off", None)),
        ("daily 24", None),
        ("yearly", None),
        ("off 9", None),
        ("daily 9 extra", None),
        ("", None),
    ],
)
def test_digest_arguments(args: str, expected: tuple[str, int | None] | None) -> None:
    assert parse_digest_args(args) == expected
