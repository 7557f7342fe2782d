"""Digests: subscriptions, the previous full period in the recipient's zone (month ends,
ISO weeks across the year, DST), one run per period, failed runs retried."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from core.context import Ctx
from core.errors import InvalidInput, PermissionDenied
from core.models import DigestRun, DigestSubscription
from core.reports import digests
from core.reports.digests import (
    DigestOptions,
    current_period_start,
    local_bounds,
    previous_period,
)
from tests.fakes.clock import FakeClock
from tests.scheduler.helpers import make_user, outbox


class FakeBuilder:
    """Records what it was asked for; fails the first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.calls: list[tuple[int, datetime, datetime]] = []
        self.failures = failures

    async def __call__(
        self, ctx: Ctx, subscription: DigestSubscription, start: datetime, end: datetime
    ) -> tuple[bytes, str, str]:
        self.calls.append((subscription.id, start, end))
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("report database timeout")
        return (
            f"xlsx {start:%Y-%m-%d}".encode(),
            f"digest-{start:%Y-%m-%d}.xlsx",
            "Звонков: 10\nСделок: 2",
        )


DUE = datetime(2027, 1, 11, 6, 0, tzinfo=UTC)  # 09:00 in Moscow, the day after subscribing


@pytest.fixture
async def moscow_daily(ctx: Ctx, clock: FakeClock) -> DigestSubscription:
    """A Moscow manager (chat 201) who asked on 10 January 2027 for a daily digest at 09:00."""
    boss = await make_user(ctx, "Босс", role="manager", tg=201, timezone="Europe/Moscow")
    clock.set(datetime(2027, 1, 10, 12, 0, tzinfo=UTC))
    return await digests.subscribe(ctx, actor_id=boss.id, period="daily", hour=9)


@pytest.mark.parametrize(
    ("period", "today", "first", "last"),
    [
        ("daily", date(2027, 1, 1), date(2026, 12, 31), date(2026, 12, 31)),
        ("daily", date(2027, 3, 1), date(2027, 2, 28), date(2027, 2, 28)),
        ("weekly", date(2027, 1, 4), date(2026, 12, 28), date(2027, 1, 3)),  # Monday
        ("weekly", date(2027, 1, 3), date(2026, 12, 21), date(2026, 12, 27)),  # Sunday
        ("monthly", date(2027, 3, 1), date(2027, 2, 1), date(2027, 2, 28)),
        ("monthly", date(2028, 3, 15), date(2028, 2, 1), date(2028, 2, 29)),
        ("monthly", date(2027, 1, 1), date(2026, 12, 1), date(2026, 12, 31)),
        ("monthly", date(2027, 5, 31), date(2027, 4, 1), date(2027, 4, 30)),
    ],
)
def test_the_previous_full_period_ends_where_the_current_one_begins(
    period: str, today: date, first: date, last: date
) -> None:
    assert previous_period(period, today) == (first, last)


def test_period_bounds_are_local_midnights_so_dst_days_are_23_and_25_hours() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    spring = local_bounds(date(2027, 3, 28), date(2027, 3, 28), berlin)
    autumn = local_bounds(date(2027, 10, 31), date(2027, 10, 31), berlin)
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)
    assert spring[0] == datetime(2027, 3, 27, 23, 0, tzinfo=UTC)
    march = local_bounds(date(2027, 3, 1), date(2027, 3, 31), berlin)
    assert march == (
        datetime(2027, 2, 28, 23, 0, tzinfo=UTC),
        datetime(2027, 3, 31, 22, 0, tzinfo=UTC),
    )


async def test_subscribing_is_for_managers_with_a_known_period_and_hour(ctx: Ctx) -> None:
    sales = await make_user(ctx, "Анна", tg=101)
    boss = await make_user(ctx, "Босс", role="manager", tg=201)
    with pytest.raises(PermissionDenied):
        await digests.subscribe(ctx, actor_id=sales.id, period="daily", hour=9)
    with pytest.raises(InvalidInput) as caught:
        await digests.subscribe(ctx, actor_id=boss.id, period="hourly", hour=9)
    assert caught.value.field == "period"
    with pytest.raises(InvalidInput) as caught:
        await digests.subscribe(ctx, actor_id=boss.id, period="daily", hour=24)
    assert caught.value.field == "hour"
    await digests.subscribe(ctx, actor_id=boss.id, period="monthly", hour=8)
    await digests.subscribe(ctx, actor_id=boss.id, period="daily", hour=9)
    await digests.subscribe(ctx, actor_id=boss.id, period="daily", hour=7)  # changes the hour
    mine = await digests.list_for(ctx, actor_id=boss.id)
    assert [(s.period, s.local_hour) for s in mine] == [("daily", 7), ("monthly", 8)]
    assert await digests.unsubscribe(ctx, actor_id=boss.id) == 2
    assert await digests.list_for(ctx, actor_id=boss.id) == []


async def test_a_daily_digest_goes_out_once_at_the_local_hour_for_the_previous_day(
    ctx: Ctx, clock: FakeClock, moscow_daily: DigestSubscription
) -> None:
    build = FakeBuilder()
    # 9 January ended before the subscription began: not owed.
    assert await digests.send_due(ctx, build=build) == 0
    clock.set(datetime(2027, 1, 11, 5, 59, tzinfo=UTC))  # 08:59 in Moscow
    assert await digests.send_due(ctx, build=build) == 0
    clock.set(DUE)
    assert await digests.send_due(ctx, build=build) == 1
    assert await digests.send_due(ctx, build=build) == 0
    clock.set(datetime(2027, 1, 11, 20, 0, tzinfo=UTC))
    assert await digests.send_due(ctx, build=build) == 0
    start = datetime(2027, 1, 9, 21, 0, tzinfo=UTC)  # 10 Jan 00:00 Moscow
    assert [(s, e) for _, s, e in build.calls] == [(start, start + timedelta(days=1))]
    sent = await outbox(ctx, "digest")
    assert [(n.user_id, n.chat_id) for n in sent] == [(moscow_daily.user_id, 201)]
    payload = sent[0].payload
    assert base64.b64decode(payload["content_b64"]) == b"xlsx 2027-01-09"
    assert payload["filename"] == "digest-2027-01-09.xlsx"
    assert payload["caption"] == "Звонков: 10\nСделок: 2"


async def test_weekly_digests_follow_each_recipients_own_week(ctx: Ctx, clock: FakeClock) -> None:
    east = await make_user(ctx, "Восток", role="manager", tg=201, timezone="Asia/Vladivostok")
    west = await make_user(ctx, "Запад", role="admin", tg=202, timezone="Europe/Moscow")
    clock.set(datetime(2026, 12, 20, 12, 0, tzinfo=UTC))
    for user in (east, west):
        await digests.subscribe(ctx, actor_id=user.id, period="weekly", hour=9)
    build = FakeBuilder()
    # Sunday 23:30 UTC: Monday 09:30 in Vladivostok, still Monday 02:30 in Moscow.
    clock.set(datetime(2027, 1, 3, 23, 30, tzinfo=UTC))
    assert await digests.send_due(ctx, build=build) == 1
    clock.set(datetime(2027, 1, 4, 6, 0, tzinfo=UTC))  # 09:00 Monday in Moscow
    assert await digests.send_due(ctx, build=build) == 1
    vladivostok_week = (
        datetime(2026, 12, 27, 14, 0, tzinfo=UTC),  # Mon 28 Dec 00:00 UTC+10
        datetime(2027, 1, 3, 14, 0, tzinfo=UTC),
    )
    moscow_week = (
        datetime(2026, 12, 27, 21, 0, tzinfo=UTC),
        datetime(2027, 1, 3, 21, 0, tzinfo=UTC),
    )
    assert [(s, e) for _, s, e in build.calls] == [vladivostok_week, moscow_week]
    runs = list(await ctx.session.scalars(select(DigestRun).order_by(DigestRun.id)))
    assert [(r.period_start, r.period_end, r.status) for r in runs] == [
        (date(2026, 12, 28), date(2027, 1, 3), "sent")
    ] * 2


async def test_a_monthly_digest_covers_the_previous_month_in_a_dst_zone(
    ctx: Ctx, clock: FakeClock
) -> None:
    boss = await make_user(ctx, "Boss", role="manager", tg=201, timezone="Europe/Berlin")
    clock.set(datetime(2027, 3, 15, 12, 0, tzinfo=UTC))
    await digests.subscribe(ctx, actor_id=boss.id, period="monthly", hour=8)
    build = FakeBuilder()
    clock.set(datetime(2027, 4, 1, 5, 59, tzinfo=UTC))  # 07:59 CEST
    assert await digests.send_due(ctx, build=build) == 0
    clock.set(datetime(2027, 4, 1, 6, 0, tzinfo=UTC))
    assert await digests.send_due(ctx, build=build) == 1
    (_, start, end), *_ = build.calls
    assert (start, end) == (
        datetime(2027, 2, 28, 23, 0, tzinfo=UTC),  # 1 March 00:00 CET
        datetime(2027, 3, 31, 22, 0, tzinfo=UTC),  # 1 April 00:00 CEST
    )


@pytest.mark.usefixtures("moscow_daily")
async def test_a_failed_run_is_retried_with_backoff_and_sent_once(
    ctx: Ctx, clock: FakeClock
) -> None:
    build = FakeBuilder(failures=2)
    options = DigestOptions(retry_base_seconds=60, max_attempts=5)
    clock.set(DUE)
    assert await digests.send_due(ctx, build=build, options=options) == 0
    run = await ctx.session.scalar(select(DigestRun))
    assert run is not None
    assert (run.status, run.attempts) == ("failed", 1)
    assert run.last_error == "RuntimeError: report database timeout"
    clock.advance(seconds=59)
    assert await digests.send_due(ctx, build=build, options=options) == 0
    assert len(build.calls) == 1  # not before its backoff
    clock.advance(seconds=1)
    assert await digests.send_due(ctx, build=build, options=options) == 0  # fails again
    clock.advance(seconds=119)
    assert await digests.send_due(ctx, build=build, options=options) == 0
    clock.advance(seconds=1)
    assert await digests.send_due(ctx, build=build, options=options) == 1
    assert await digests.send_due(ctx, build=build, options=options) == 0
    assert len(build.calls) == 3
    assert len(await outbox(ctx, "digest")) == 1
    await ctx.session.refresh(run)
    assert (run.status, run.attempts, run.last_error) == ("sent", 3, None)


async def test_a_run_whose_instance_died_is_retaken_after_its_claim_expires(
    ctx: Ctx, clock: FakeClock, moscow_daily: DigestSubscription
) -> None:
    clock.set(DUE)
    # Another instance claimed the run and died while building it.
    ctx.session.add(
        DigestRun(
            subscription_id=moscow_daily.id,
            period_start=date(2027, 1, 10),
            period_end=date(2027, 1, 10),
            status="pending",
            attempts=1,
            claimed_until=clock.now() + timedelta(minutes=15),
            created_at=clock.now(),
        )
    )
    await ctx.session.commit()
    build = FakeBuilder()
    assert await digests.send_due(ctx, build=build) == 0  # still claimed
    clock.advance(minutes=15, seconds=1)
    assert await digests.send_due(ctx, build=build) == 1
    assert await digests.send_due(ctx, build=build) == 0
    assert len(await outbox(ctx, "digest")) == 1


@pytest.mark.usefixtures("moscow_daily")
async def test_a_run_that_keeps_failing_stops_after_the_last_attempt(
    ctx: Ctx, clock: FakeClock
) -> None:
    build = FakeBuilder(failures=100)
    options = DigestOptions(retry_base_seconds=1, max_attempts=3)
    clock.set(DUE)
    for _ in range(10):
        await digests.send_due(ctx, build=build, options=options)
        clock.advance(hours=1)
    assert len(build.calls) == 3
    assert await outbox(ctx, "digest") == []


@given(
    period=st.sampled_from(["daily", "weekly", "monthly"]),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    zone=st.sampled_from(
        ["Europe/Moscow", "Europe/Berlin", "America/New_York", "Asia/Vladivostok", "UTC"]
    ),
)
def test_any_previous_period_is_whole_days_right_before_the_current_one(
    period: str, today: date, zone: str
) -> None:
    first, last = previous_period(period, today)
    assert last + timedelta(days=1) == current_period_start(period, today)
    assert first <= last < today
    if period == "weekly":
        assert (first.isoweekday(), (last - first).days) == (1, 6)
    if period == "monthly":
        assert first.day == 1 and (last + timedelta(days=1)).day == 1
    start, end = local_bounds(first, last, ZoneInfo(zone))
    days = (last - first).days + 1
    # Local midnights: a DST change makes one day an hour shorter or longer, never more.
    assert abs((end - start) - timedelta(days=days)) <= timedelta(hours=1)
    assert start.astimezone(ZoneInfo(zone)).time() == time(0, 0)
