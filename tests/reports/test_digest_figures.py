"""The digest's figures against a hand-built day whose numbers are known."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from core.context import Actor, Ctx
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.reports import service as reports
from core.reports.dto import Digest, PersonSummary
from tests.reports import scenario
from tests.reports.scenario import END, START, at


def _row(result: Digest, name: str) -> PersonSummary:
    return next(p for p in result.people if p.name == name)


async def test_calls_answered_missed_and_talk_time_per_salesperson(
    digest: Digest,
) -> None:
    result = digest
    anna, boris = _row(result, "Anna").current, _row(result, "Boris").current
    assert (anna.calls_in, anna.calls_out, anna.answered_in, anna.answered_out) == (2, 1, 1, 1)
    assert (anna.missed, anna.talk_seconds) == (1, 180)
    assert (boris.calls_in, boris.calls_out, boris.answered_in, boris.missed) == (1, 1, 0, 1)
    assert boris.talk_seconds == 300
    unassigned = result.people[-1]
    assert unassigned.user_id is None
    assert (unassigned.current.calls_in, unassigned.current.missed) == (1, 1)
    total = result.total.current
    assert (total.calls_in, total.calls_out, total.answered_in, total.missed) == (4, 2, 1, 3)
    assert total.answered_share == pytest.approx(1 / 4)
    assert total.talk_seconds == 480


async def test_missed_calls_called_back_within_target_or_never_by_the_period_end(
    digest: Digest,
) -> None:
    result = digest
    anna, boris = _row(result, "Anna").current, _row(result, "Boris").current
    assert (anna.called_back_in_target, anna.median_callback_seconds) == (1, 575)
    assert (boris.called_back_in_target, boris.not_called_back) == (0, 1)
    assert boris.called_back_share == 0
    assert boris.median_callback_seconds is None
    total = result.total.current
    assert total.called_back_share == pytest.approx(1 / 3)
    assert (total.called_back_later, total.client_called_again, total.not_called_back) == (0, 0, 2)
    missed = result.missed_calls
    # Olga's call back came the next morning, after the period's end: not this day's.
    assert [(m.callback_seconds, m.result) for m in missed] == [
        (575, "in_target"),
        (None, "never"),
        (None, "never"),
    ]
    assert missed[0].called_back_at == at(23, 9, 10, 5)


async def test_activities_deals_and_contacts_figures(
    digest: Digest,
) -> None:
    result = digest
    anna, boris = _row(result, "Anna").current, _row(result, "Boris").current
    assert (anna.activities_done, anna.activities_done_late, anna.activities_overdue) == (1, 0, 1)
    assert (boris.activities_done, boris.activities_done_late, boris.activities_overdue) == (
        1,
        1,
        0,
    )
    assert (anna.deals_created, anna.deals_won, anna.deals_lost) == (1, 1, 0)
    assert anna.amount_won == Decimal("5000.50")
    assert (anna.open_deals, anna.open_amount) == (1, Decimal("1000"))
    assert (boris.deals_created, boris.deals_won, boris.deals_lost) == (3, 0, 1)
    assert (boris.open_deals, boris.open_amount) == (2, Decimal("2000"))  # the USD deal: 0 RUB
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
    assert result.overdue_activities[1].late_seconds == 3600


async def test_previous_day_is_beside_each_figure(
    digest: Digest,
) -> None:
    result = digest
    assert result.kind == "day"
    assert (result.previous_start, result.previous_end) == (START - timedelta(days=1), START)
    assert (result.as_of, result.running) == (END, False)
    anna, boris = _row(result, "Anna").previous, _row(result, "Boris").previous
    assert (anna.calls_in, anna.answered_in, anna.missed, anna.not_called_back) == (2, 1, 1, 1)
    assert (anna.talk_seconds, anna.deals_created, anna.open_deals) == (30, 1, 1)
    assert (boris.activities_done, boris.activities_done_late, boris.new_contacts) == (1, 1, 1)


async def test_pipeline_by_stage_and_currency_at_the_end_and_call_details(
    digest: Digest,
) -> None:
    result = digest
    assert [(p.stage, p.outcome, p.count, p.amount, p.currency) for p in result.pipeline] == [
        ("Новая", "open", 1, Decimal("1000"), "RUB"),
        ("Предложение", "open", 1, Decimal("2000"), "RUB"),
        ("Предложение", "open", 1, Decimal("300"), "USD"),
        ("Успешно", "won", 1, Decimal("5000.50"), "RUB"),
        ("Проиграна", "lost", 1, Decimal("0"), "RUB"),
    ]
    assert len(result.calls) == 6
    assert result.calls[0].salesperson == "Anna"
    assert result.calls[0].contact == "Ivan =Ivanov"
    assert [c.direction for c in result.calls] == ["in", "in", "out", "out", "in", "in"]


async def test_salespeople_may_not_build_the_digest(ctx: Ctx, people: scenario.Scenario) -> None:
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
