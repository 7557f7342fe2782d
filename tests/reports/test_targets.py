"""Monthly targets per salesperson: set by a manager, read by their salesperson, and set
against the month so far on the digest's Summary (one A4 portrait page, nine columns)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from core.context import Actor, Ctx
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.reports import service as reports
from core.targets import service as targets
from core.users.models import User
from exports.digest import build_workbook
from tests.fakes.clock import FakeClock
from tests.reports import scenario
from tests.reports.scenario import NOVEMBER, NOW

MONTH_START = datetime(2026, 10, 31, 21, 0, tzinfo=UTC)  # 1 Nov, Moscow
MONTH_END = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)


async def test_a_manager_sets_targets_and_zero_removes_one(
    ctx: Ctx, people: scenario.Scenario
) -> None:
    maria, anna = Actor.of_user(people.maria), people.anna.id
    values = {"won_amount": Decimal("10000"), "deals_won": Decimal(2), "calls_out": Decimal(4)}
    made = await targets.set_targets(ctx, actor=maria, user_id=anna, month=NOVEMBER, values=values)
    assert [(t.metric, t.value) for t in made] == [
        ("won_amount", Decimal("10000.00")),
        ("deals_won", Decimal(2)),
        ("calls_out", Decimal(4)),
    ]
    again = await targets.set_targets(
        ctx,
        actor=maria,
        user_id=anna,
        month=date(2026, 11, 17),  # any day names its month
        values={"deals_won": Decimal(0), "calls_out": Decimal(5)},
    )
    assert [(t.metric, t.value) for t in again] == [
        ("won_amount", Decimal("10000.00")),
        ("calls_out", Decimal(5)),
    ]
    assert await targets.list_targets(ctx, actor=maria, month=date(2026, 12, 1)) == []


async def test_a_salesperson_reads_only_their_own_targets_and_sets_none(
    ctx: Ctx, people: scenario.Scenario
) -> None:
    maria = Actor.of_user(people.maria)
    for person, calls in ((people.anna, 4), (people.boris, 6)):
        await targets.set_targets(
            ctx,
            actor=maria,
            user_id=person.id,
            month=NOVEMBER,
            values={"calls_out": Decimal(calls)},
        )
    anna = Actor.of_user(people.anna)
    mine = await targets.list_targets(ctx, actor=anna, month=NOVEMBER)
    assert [(t.name, t.value) for t in mine] == [("Anna", Decimal(4))]
    everyone = await targets.list_targets(ctx, actor=maria, month=NOVEMBER)
    assert [(t.name, t.value) for t in everyone] == [("Anna", Decimal(4)), ("Boris", Decimal(6))]
    with pytest.raises(NotFound):
        await targets.list_targets(ctx, actor=anna, month=NOVEMBER, user_id=people.boris.id)
    with pytest.raises(PermissionDenied) as denied:
        await targets.set_targets(
            ctx, actor=anna, user_id=people.anna.id, month=NOVEMBER, values={"calls_out": 100}
        )
    assert denied.value.code == "targets-manager-only"


@pytest.mark.parametrize(
    ("metric", "text", "code"),
    [
        ("won_amount", "-5", "target-value-invalid"),
        ("deals_won", "2.5", "target-value-invalid"),
        ("calls_out", "много", "target-value-invalid"),
        ("calls_out", "1e20", "target-value-invalid"),
        ("revenue", "5", "target-metric-invalid"),
    ],
)
def test_a_bad_target_is_refused_naming_it(metric: str, text: str, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        targets.parse_value(metric, text)
    assert refused.value.code == code


def test_months_are_read_as_people_write_them() -> None:
    assert targets.parse_month("2026-12") == date(2026, 12, 1)
    assert targets.parse_month(" 3.2027 ") == date(2027, 3, 1)
    assert targets.parse_month("03/2027") == date(2027, 3, 1)
    assert targets.parse_value("won_amount", "1 500 000,50") == Decimal("1500000.50")
    for bad in ("2026-13", "декабрь", "2026-12-01", ""):
        with pytest.raises(InvalidInput) as refused:
            targets.parse_month(bad)
        assert refused.value.code == "month-invalid"


async def test_targets_of_someone_who_left_or_never_was_are_refused(
    ctx: Ctx, system: Actor, clock: FakeClock
) -> None:
    gone = User(name="Olga", role="sales", created_at=NOW, active=False)
    ctx.session.add(gone)
    await ctx.session.commit()
    for uid in (gone.id, 999999):
        with pytest.raises(NotFound):
            await targets.set_targets(
                ctx, actor=system, user_id=uid, month=NOVEMBER, values={"calls_out": 5}
            )


async def test_a_day_digest_sets_the_month_so_far_against_the_targets(
    ctx: Ctx, with_targets: scenario.Scenario
) -> None:
    digest = await scenario.day_digest(ctx, with_targets)
    assert digest.plan_month == NOVEMBER
    assert round(digest.plan_elapsed, 4) == round(23 / 30, 4)  # 1–23 November of 30 days
    anna, boris = digest.plan
    # Anna: "Big" won on the 23rd (5,000.50), one outbound call (the 23rd, 09:10).
    assert (anna.name, anna.targets["won_amount"], anna.actual) == (
        "Anna",
        Decimal(10000),
        {"won_amount": Decimal("5000.50"), "deals_won": Decimal(1), "calls_out": Decimal(1)},
    )
    # Boris's outbound call on the 24th is after the cut-off: one (the 23rd, 09:30).
    assert (boris.targets, boris.actual["calls_out"]) == ({"calls_out": Decimal(1)}, Decimal(1))


async def test_the_month_digest_shows_the_same_plan_and_so_does_a_rebuild_a_month_later(
    ctx: Ctx, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    people = await scenario.build(ctx)
    await scenario.set_targets(ctx, people)
    built = []
    for now in (datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2027, 1, 2, 9, 0, tzinfo=UTC)):
        clock.set(now)
        month = await reports.digest(
            ctx, actor_id=people.maria.id, start=MONTH_START, end=MONTH_END, tz="Europe/Moscow"
        )
        assert (month.kind, month.plan_month, month.plan_elapsed) == ("month", NOVEMBER, 1.0)
        built.append(month.plan)
    # The whole month: Boris's call on the 24th counts now.
    assert [r.actual["calls_out"] for r in built[0]] == [Decimal(1), Decimal(2)]
    assert built[0] == built[1]


async def test_the_summary_shows_plan_against_actual_on_one_a4_portrait_page(
    ctx: Ctx, with_targets: scenario.Scenario
) -> None:
    digest = await scenario.day_digest(ctx, with_targets)
    ws = load_workbook(io.BytesIO(build_workbook(digest, locale="en")))["Summary"]
    setup = ws.page_setup
    assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == (
        "portrait",
        9,
        1,
        1,
    )
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.max_column == 9
    assert ws["A37"].value == 'Plan for 2026-11: from the 1st to "as of" (77% of the month gone)'
    rows = list(ws.iter_rows(min_row=38, max_row=41, values_only=True))
    assert rows[0] == (
        "Salesperson",
        "Plan, amount won",
        "Actual, amount won",
        "% of the amount plan",
        "Plan, deals won",
        "Actual, deals won",
        "% of the deals plan",
        "Plan, outbound calls",
        "Actual, outbound calls",
    )
    assert rows[1] == ("Anna", 10000, 5000.5, 0.50005, 2, 1, 0.5, 4, 1)
    assert rows[2] == ("Boris", None, None, None, None, None, None, 1, 1)
    assert rows[3] == ("Total", 10000, 5000.5, 0.50005, 2, 1, 0.5, 5, 2)
    red, green = "C00000", "1E7B34"
    assert ws["D39"].font.color.rgb.endswith(red)  # half the amount with 77 % of the month gone
    assert ws["I39"].font.color.rgb.endswith(red)  # 1 call of 4
    assert ws["I40"].font.color.rgb.endswith(green)  # Boris: 1 of 1
    assert ws["D39"].number_format == "0%"
    assert ws["A41"].font.bold
    assert ws["A43"].value == "Definitions"
