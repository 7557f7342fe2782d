"""The digest's figures against a hand-built day whose numbers are known."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from core.clock import FakeClock
from core.context import Actor, Ctx
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.reports.dto import Digest, PersonSummary
from core.services import reports
from tests.reports import scenario
from tests.reports.scenario import END, NOW, START, at


@pytest.fixture
async def built(ctx: Ctx, clock: FakeClock) -> tuple[scenario.Scenario, Digest]:
    clock.set(NOW)
    people = await scenario.build(ctx)
    result = await reports.digest(
        ctx, actor_id=people.maria.id, start=START, end=END, tz="Europe/Moscow"
    )
    return people, result


def _row(result: Digest, name: str) -> PersonSummary:
    return next(p for p in result.people if p.name == name)


async def test_calls_answered_missed_and_talk_time_per_salesperson(
    built: tuple[scenario.Scenario, Digest],
) -> None:
    _, result = built
    anna, boris = _row(result, "Anna").current, _row(result, "Boris").current
    assert (anna.calls_in, anna.calls_out, anna.answered, anna.missed) == (2, 1, 2, 1)
    assert anna.talk_seconds == 180
    assert (boris.calls_in, boris.calls_out, boris.answered, boris.missed) == (1, 1, 1, 1)
    assert boris.talk_seconds == 300
    unassigned = result.people[-1]
    assert unassigned.user_id is None
    assert (unassigned.current.calls_in, unassigned.current.missed) == (1, 1)
    total = result.total.current
    assert (total.calls_in, total.calls_out, total.answered, total.missed) == (4, 2, 3, 3)
    assert total.talk_seconds == 480


async def test_missed_calls_called_back_share_and_median_time(
    built: tuple[scenario.Scenario, Digest],
) -> None:
    _, result = built
    anna, boris = _row(result, "Anna").current, _row(result, "Boris").current
    assert anna.missed_called_back == 1
    assert anna.median_callback_seconds == 575  # 09:10:05 answered - 09:00:30 ended
    assert boris.missed_called_back == 0
    assert boris.called_back_share == 0
    assert boris.median_callback_seconds is None
    total = result.total.current
    assert total.called_back_share == pytest.approx(2 / 3)
    assert total.median_callback_seconds == (575 + 75595) / 2
    missed = result.missed_calls
    assert [m.callback_seconds for m in missed] == [
        575,
        None,
        75595,
    ]  # 24th 08:00:05 - 23rd 11:00:10
    assert missed[2].called_back_at == at(24, 8, 0, 5)


async def test_activities_deals_and_contacts_figures(
    built: tuple[scenario.Scenario, Digest],
) -> None:
    _, result = built
    anna, boris = _row(result, "Anna").current, _row(result, "Boris").current
    assert (anna.activities_done, anna.activities_overdue) == (1, 1)
    assert (boris.activities_done, boris.activities_overdue) == (1, 1)
    assert (anna.deals_created, anna.deals_won, anna.deals_lost) == (1, 1, 0)
    assert anna.amount_won == Decimal("5000.50")
    assert (boris.deals_created, boris.deals_won, boris.deals_lost) == (3, 0, 1)
    assert (anna.new_contacts, boris.new_contacts, result.people[-1].current.new_contacts) == (
        1,
        0,
        1,
    )
    assert result.currency == "RUB"
    assert [(r.title, r.done_at is None) for r in result.overdue_activities] == [
        ("Call about =SUM(A1)", True),
        ("Follow up", False),
    ]


async def test_previous_period_of_the_same_length_is_beside_each_figure(
    built: tuple[scenario.Scenario, Digest],
) -> None:
    _, result = built
    assert result.previous_start == START - timedelta(days=1)
    anna, boris = _row(result, "Anna").previous, _row(result, "Boris").previous
    assert (anna.calls_in, anna.answered, anna.missed, anna.missed_called_back) == (2, 1, 1, 1)
    assert anna.median_callback_seconds == (at(23, 8, 0, 5) - at(22, 11, 0, 30)).total_seconds()
    assert (anna.talk_seconds, anna.deals_created) == (30, 1)
    assert (boris.activities_done, boris.new_contacts) == (1, 1)


async def test_pipeline_by_stage_and_currency_and_call_details(
    built: tuple[scenario.Scenario, Digest],
) -> None:
    _, result = built
    assert [(p.stage, p.count, p.amount, p.currency) for p in result.pipeline] == [
        ("Новая", 1, Decimal("1000"), "RUB"),
        ("Предложение", 1, Decimal("2000"), "RUB"),
        ("Предложение", 1, Decimal("300"), "USD"),
    ]
    assert len(result.calls) == 6
    assert result.calls[0].salesperson == "Anna"
    assert result.calls[0].contact == "Ivan =Ivanov"
    assert [c.direction for c in result.calls] == ["in", "in", "out", "out", "in", "in"]


async def test_salespeople_may_not_build_the_digest(ctx: Ctx, clock: FakeClock) -> None:
    clock.set(NOW)
    people = await scenario.build(ctx)
    with pytest.raises(PermissionDenied):
        await reports.digest(ctx, actor_id=people.anna.id, start=START, end=END, tz="UTC")
    with pytest.raises(NotFound):
        await reports.digest(ctx, actor_id=999, start=START, end=END, tz="UTC")


@pytest.mark.parametrize(
    ("shift", "tz", "field"),
    [(timedelta(0), "UTC", "to"), (timedelta(days=1), "Mars/Base", "timezone")],
)
async def test_bad_period_or_zone_is_refused(
    ctx: Ctx, system: Actor, shift: timedelta, tz: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        await reports.digest_for(ctx, actor=system, start=START, end=START + shift, tz=tz)
    assert err.value.field == field
