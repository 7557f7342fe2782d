"""Each definition of issue 19 against a small hand-built history whose figures are known.

Calls back come from us, within the target or later; the client ringing again is not one.
Overdue is open past due at the period's end; done late is apart. A closed period reads the
same whenever it is built. Calendar periods compare with the previous calendar period, and a
running one with the same hours of the previous.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest

from core.activities.models import Activity
from core.calls.models import Call
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.deals import service as deals
from core.deals.models import Deal
from core.reports import service as reports
from core.reports.dto import Digest, Figures
from core.users.models import User
from tests.fakes.clock import FakeClock
from tests.reports.scenario import contact_row

UTC_ZONE = "UTC"
NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
_ids = count(1)


def moment(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def salesperson(ctx: Ctx, name: str = "Anna", role: str = "sales") -> User:
    user = User(name=name, role=role, created_at=moment(1, 1))
    ctx.session.add(user)
    await ctx.session.flush()
    return user


async def client(ctx: Ctx, owner: User, created: datetime = moment(1, 1)) -> Contact:
    contact = contact_row(f"Client {next(_ids)}", owner.id, created, source="call")
    ctx.session.add(contact)
    await ctx.session.flush()
    return contact


def call(
    contact: Contact, started: datetime, direction: str, status: str, phone: str = "+79160000001"
) -> Call:
    answered = started + timedelta(seconds=5) if status == "answered" else None
    return Call(
        provider="generic",
        provider_call_id=f"d{next(_ids)}",
        direction=direction,
        status=status,
        client_e164=phone,
        contact_id=contact.id,
        started_at=started,
        answered_at=answered,
        ended_at=started + timedelta(seconds=30),
        talk_seconds=25 if answered else None,
        created_at=started,
        updated_at=started,
    )


def task(owner: User, due: datetime, *, done: datetime | None = None, status: str = "") -> Activity:
    made = due - timedelta(days=2)
    return Activity(
        kind="task",
        title=f"Task {next(_ids)}",
        owner_id=owner.id,
        due_at=due,
        status=status or ("done" if done else "planned"),
        done_at=done,
        created_at=made,
        updated_at=done or made,
    )


@pytest.fixture
async def maria_and_anna(ctx: Ctx) -> tuple[Actor, User]:
    """Maria, a manager, as the one who acts, and Anna, a salesperson, committed."""
    maria = await salesperson(ctx, "Maria", "manager")
    anna = await salesperson(ctx)
    await ctx.session.commit()
    return Actor.of_user(maria), anna


async def build(
    ctx: Ctx, clock: FakeClock, start: datetime, end: datetime, now: datetime, tz: str = UTC_ZONE
) -> Digest:
    clock.set(now)
    return await reports.digest_for(ctx, actor=Actor.system("test"), start=start, end=end, tz=tz)


async def test_the_client_ringing_again_is_not_a_call_back_and_a_late_one_is_later(
    ctx: Ctx, clock: FakeClock
) -> None:
    anna = await salesperson(ctx)
    first, second, third = [await client(ctx, anna) for _ in range(3)]
    p1, p2, p3 = "+79160000001", "+79160000002", "+79160000003"
    ctx.session.add_all(
        [
            # 1: the client rings again 5 minutes later and is answered; we never call.
            call(first, moment(11, 10, 9), "in", "missed", p1),
            call(first, moment(11, 10, 9, 5), "in", "answered", p1),
            # 2: we call back 40 minutes later (the target is 15).
            call(second, moment(11, 10, 10), "in", "busy", p2),
            call(second, moment(11, 10, 10, 40), "out", "answered", p2),
            # 3: we call back in 10 minutes.
            call(third, moment(11, 10, 11), "in", "missed", p3),
            call(third, moment(11, 10, 11, 10), "out", "answered", p3),
        ]
    )
    await ctx.session.commit()
    digest = await build(ctx, clock, moment(11, 10, 0), moment(11, 11, 0), moment(11, 12))
    total = digest.total.current
    assert total.missed == 3
    assert (total.called_back_in_target, total.called_back_later) == (1, 1)
    assert (total.client_called_again, total.not_called_back) == (1, 0)
    assert total.called_back_share == pytest.approx(1 / 3)
    assert sorted(total.callback_seconds) == [9 * 60 + 35, 39 * 60 + 35]
    rows = {m.client_phone: m for m in digest.missed_calls}
    assert (rows[p1].result, rows[p1].called_back_at) == ("client", None)
    assert rows[p1].client_called_at == moment(11, 10, 9, 5) + timedelta(seconds=5)
    assert (rows[p2].result, rows[p2].callback_seconds) == ("later", 39 * 60 + 35)
    assert rows[p3].result == "in_target"


async def test_a_call_back_after_the_period_end_does_not_count_and_a_rebuild_agrees(
    ctx: Ctx, clock: FakeClock
) -> None:
    anna = await salesperson(ctx)
    late = await client(ctx, anna)
    ctx.session.add_all(
        [
            call(late, moment(11, 30, 23, 50), "in", "missed"),  # 10 minutes before the end
            call(late, moment(12, 1, 0, 3), "out", "answered"),  # within the target, after it
            call(late, moment(12, 1, 9), "in", "missed"),  # December's own
            call(late, moment(12, 3, 9), "out", "answered"),  # three days later
        ]
    )
    await ctx.session.commit()
    november = await build(ctx, clock, NOV, DEC, moment(12, 1, 8))
    assert [m.result for m in november.missed_calls] == ["in_target"]  # its target runs on
    a_month_later = await build(ctx, clock, NOV, DEC, moment(12, 31, 8))
    assert _figures(a_month_later) == _figures(november)


async def test_overdue_is_open_past_due_at_the_end_and_done_late_is_apart(
    ctx: Ctx, clock: FakeClock
) -> None:
    anna = await salesperson(ctx)
    ctx.session.add_all(
        [
            task(anna, moment(11, 10), done=moment(11, 10, 14)),  # done 2 h late
            task(anna, moment(11, 11), done=moment(11, 11, 9)),  # done on time
            task(anna, moment(11, 12)),  # still open: overdue
            task(anna, moment(10, 20)),  # due in October, still open: overdue in November too
            task(anna, moment(11, 20), done=moment(12, 2)),  # done after the period: overdue then
            task(anna, moment(11, 21), status="canceled"),  # canceled on 19 Nov: not overdue
            task(anna, moment(12, 5)),  # due after the period
        ]
    )
    await ctx.session.commit()
    digest = await build(ctx, clock, NOV, DEC, moment(12, 10))
    figures = digest.total.current
    assert (figures.activities_done, figures.activities_done_late) == (2, 1)
    assert figures.activities_overdue == 3
    states = [(r.due_at, r.done_at is None, r.late_seconds) for r in digest.overdue_activities]
    assert states == [
        (moment(10, 20), True, int((DEC - moment(10, 20)).total_seconds())),
        (moment(11, 12), True, int((DEC - moment(11, 12)).total_seconds())),
        (moment(11, 20), True, int((DEC - moment(11, 20)).total_seconds())),
        (moment(11, 10), False, 2 * 3600),
    ]


async def test_the_pipeline_is_the_state_at_the_period_end_from_stage_history(
    ctx: Ctx, clock: FakeClock, maria_and_anna: tuple[Actor, User]
) -> None:
    actor, anna = maria_and_anna

    async def deal(title: str, when: datetime, amount: int) -> int:
        clock.set(when)
        made = await deals.create(ctx, actor=actor, title=title, amount=amount, owner_id=anna.id)
        return made.id

    async def move(deal_id: int, stage: str, when: datetime, **extra: str) -> None:
        clock.set(when)
        await deals.move(ctx, actor=actor, deal_id=deal_id, stage=stage, **extra)

    moved = await deal("Moved in December", moment(11, 5), 1000)
    await move(moved, "qualified", moment(11, 10))
    await move(moved, "won", moment(12, 3))  # after the period
    won = await deal("Won in November", moment(11, 6), 2000)
    await move(won, "proposal", moment(11, 7))
    await move(won, "won", moment(11, 20))
    lost = await deal("Lost in November", moment(11, 7), 500)
    await move(lost, "lost", moment(11, 25), lost_reason="Дорого")
    await deal("Made in December", moment(12, 2), 9000)
    expected = await ctx.session.get(Deal, moved)
    assert expected is not None
    expected.expected_close = date(2026, 12, 10)
    await ctx.session.commit()
    digest = await build(ctx, clock, NOV, DEC, moment(12, 5))
    assert [(p.stage, p.outcome, p.count, int(p.amount)) for p in digest.pipeline] == [
        ("Квалификация", "open", 1, 1000),
        ("Успешно", "won", 1, 2000),
        ("Проиграна", "lost", 1, 500),
    ]
    figures = digest.total.current
    assert (figures.deals_created, figures.deals_won, figures.deals_lost) == (3, 1, 1)
    assert (figures.open_deals, int(figures.open_amount), int(figures.amount_won)) == (
        1,
        1000,
        2000,
    )
    assert [(s.stage, s.reached, s.conversion) for s in digest.funnel] == [
        ("Новая", 3, None),
        ("Квалификация", 2, pytest.approx(2 / 3)),
        ("Предложение", 1, 0.5),
        ("Переговоры", 1, 1.0),
        ("Успешно", 1, 1.0),
    ]
    # Days in a stage, of the deals that left it in November: new 5, 1 and 18; proposal 13.
    assert [s.days_in_stage for s in digest.funnel] == [8.0, None, 13.0, None, None]
    assert [(r.reason, r.count) for r in digest.loss_reasons] == [("Дорого", 1)]
    # Open at the end in Квалификация, expected in the next 30 days; of the 2 deals that
    # reached Квалификация in November 1 was won: weighted at half.
    forecast = digest.forecast
    assert forecast is not None
    assert (forecast.deals, int(forecast.amount), int(forecast.weighted)) == (1, 1000, 500)
    assert (forecast.overdue, forecast.until) == (0, DEC + timedelta(days=30))
    again = await build(ctx, clock, NOV, DEC, moment(12, 28))
    assert again.pipeline == digest.pipeline
    assert _figures(again) == _figures(digest)


async def test_stale_deals_are_open_untouched_for_two_weeks_with_nothing_planned(
    ctx: Ctx, clock: FakeClock, maria_and_anna: tuple[Actor, User]
) -> None:
    actor, anna = maria_and_anna
    made: dict[str, Contact] = {}
    for title, amount in (
        ("Quiet", 500),
        ("Called", 900),
        ("Planned", 800),
        ("Touched after", 300),
    ):
        made[title] = await client(ctx, anna)
        clock.set(moment(10, 1))
        await deals.create(
            ctx,
            actor=actor,
            title=title,
            amount=amount,
            owner_id=anna.id,
            contact_id=made[title].id,
        )
    clock.set(moment(11, 25))
    fresh = await client(ctx, anna)
    await deals.create(ctx, actor=actor, title="Fresh", owner_id=anna.id, contact_id=fresh.id)
    ctx.session.add_all(
        [
            call(made["Called"], moment(11, 25), "out", "answered"),
            call(made["Touched after"], moment(12, 3), "out", "answered"),  # after the end
            task(anna, moment(12, 10)),  # someone else's task: no effect
        ]
    )
    planned = task(anna, moment(12, 10))
    planned.contact_id, planned.created_at = made["Planned"].id, moment(11, 2)
    ctx.session.add(planned)
    await ctx.session.commit()
    digest = await build(ctx, clock, NOV, DEC, moment(12, 5))
    assert [(d.title, d.last_touch) for d in digest.stale_deals] == [
        ("Quiet", moment(10, 1)),
        ("Touched after", moment(10, 1)),
    ]
    assert digest.stale_days == 14


async def test_a_closed_month_rebuilt_a_month_later_gives_the_same_figures(
    ctx: Ctx, clock: FakeClock
) -> None:
    anna = await salesperson(ctx)
    boris = await salesperson(ctx, "Boris")
    first = await client(ctx, anna, created=moment(11, 3))
    second = await client(ctx, boris, created=moment(11, 4))
    ctx.session.add_all(
        [
            call(first, moment(11, 29, 10), "in", "missed", "+79160000011"),
            call(second, moment(11, 29, 11), "in", "missed", "+79160000012"),
            task(anna, moment(11, 28)),
            task(boris, moment(11, 27), done=moment(11, 28)),
        ]
    )
    await ctx.session.commit()
    before = await build(ctx, clock, NOV, DEC, moment(12, 1, 9))
    # December: the missed numbers are called back, the open task is done, a contact is
    # created and November's second contact deleted; none of it is November's.
    ctx.session.add_all(
        [
            call(first, moment(12, 2, 10), "out", "answered", "+79160000011"),
            call(second, moment(12, 2, 10), "in", "answered", "+79160000012"),
        ]
    )
    open_task = await ctx.session.get(Activity, 1)
    assert open_task is not None
    open_task.status, open_task.done_at, open_task.updated_at = "done", moment(12, 3), moment(12, 3)
    second.deleted_at = moment(12, 10)
    await client(ctx, anna, created=moment(12, 4))
    await ctx.session.commit()
    after = await build(ctx, clock, NOV, DEC, moment(12, 31, 9))
    assert _figures(after) == _figures(before)
    assert after.missed_calls == before.missed_calls
    assert after.overdue_activities == before.overdue_activities
    assert before.total.current.new_contacts == 2
    assert before.total.current.activities_overdue == 1


async def test_a_month_compares_with_the_whole_previous_calendar_month(
    ctx: Ctx, clock: FakeClock
) -> None:
    anna = await salesperson(ctx)
    contact = await client(ctx, anna)
    moscow = "Europe/Moscow"
    ctx.session.add_all(
        [
            call(
                contact, datetime(2026, 9, 30, 21, 30, tzinfo=UTC), "out", "answered"
            ),  # 1 Oct MSK
            call(contact, datetime(2026, 10, 31, 20, 0, tzinfo=UTC), "out", "answered"),  # 31 Oct
            call(contact, datetime(2026, 9, 30, 20, 0, tzinfo=UTC), "out", "answered"),  # 30 Sep
            call(contact, datetime(2026, 11, 10, 9, 0, tzinfo=UTC), "out", "answered"),
        ]
    )
    await ctx.session.commit()
    start, end = reports.period("2026-11-01", "2026-11-30", tz=moscow)
    digest = await build(ctx, clock, start, end, moment(12, 2), moscow)
    assert digest.previous_start == datetime(2026, 9, 30, 21, 0, tzinfo=UTC)  # 1 Oct MSK
    assert (digest.total.current.calls_out, digest.total.previous.calls_out) == (1, 2)
    assert (digest.kind, digest.previous_end) == ("month", start)
    week_start, week_end = reports.period("2026-11-09", "2026-11-15", tz=moscow)
    week = await build(ctx, clock, week_start, week_end, moment(12, 2), moscow)
    assert (week.kind, week.previous_start) == ("week", week_start - timedelta(days=7))
    custom_start, custom_end = reports.period("2026-11-10", "2026-11-12", tz=moscow)
    custom = await build(ctx, clock, custom_start, custom_end, moment(12, 2), moscow)
    assert (custom.kind, custom.previous_start) == ("custom", custom_start - timedelta(days=3))


async def test_a_running_month_says_so_and_compares_the_same_hours_of_the_last(
    ctx: Ctx, clock: FakeClock
) -> None:
    anna = await salesperson(ctx)
    contact = await client(ctx, anna)
    ctx.session.add_all(
        [
            call(contact, moment(11, 7, 13), "out", "answered"),  # before 7 Nov 14:00: counted
            call(contact, moment(11, 7, 15), "out", "answered"),  # after: not like with like
            call(contact, moment(11, 20), "out", "answered"),
            call(contact, moment(12, 3), "out", "answered"),
            call(contact, moment(12, 7, 13, 30), "out", "answered"),
        ]
    )
    ctx.session.add(task(anna, moment(12, 7, 13)))  # due half an hour ago: overdue now
    await ctx.session.commit()
    now = moment(12, 7, 14)
    start, end = reports.period("2026-12-01", "2026-12-31", tz=UTC_ZONE)
    digest = await build(ctx, clock, start, end, now)
    assert (digest.total.current.calls_out, digest.total.previous.calls_out) == (2, 1)
    assert (digest.kind, digest.running, digest.as_of) == ("month", True, now)
    assert digest.previous_as_of == moment(11, 7, 14)
    assert digest.total.current.activities_overdue == 1
    day = await build(ctx, clock, *reports.period("2026-12-07", "2026-12-07", tz=UTC_ZONE), now)
    assert (day.kind, day.running, day.previous_as_of) == ("day", True, moment(12, 6, 14))


def _figures(digest: Digest) -> list[tuple[str, dict[str, object]]]:
    def values(figures: Figures) -> dict[str, object]:
        return {f.name: getattr(figures, f.name) for f in fields(figures)}

    return [(p.name, values(p.current)) for p in [*digest.people, digest.total]]
