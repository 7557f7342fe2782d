"""The sales digest: figures per salesperson against the previous period, and detail rows.

Managers and admins only. Calls are counted for the person on the call (its extension), else
the contact's owner; everything else for its owner. The definitions, which the workbook's
Summary sheet prints too:

1. Period: [start, end). A day, an ISO week or a calendar month (local midnights) compares
   with the previous day, week or month; any other period with as long a period before it.
   A period still running is cut at now and compared with the same hours of the previous
   one (core/reports/periods.py). Every figure is taken "as of" that cut-off: nothing that
   happened or was created after it counts, so a closed period's digest is the same
   whenever it is built.
2. Calls: inbound and outbound calls with a client that started in the period (internal
   calls left out). "Missed" is an inbound call not answered (the PBX said missed, busy or
   failed); an outbound call not answered is "not reached", never "missed".
3. Called back: our answered outbound call to the missed number, timed from the missed
   call's end to the answer. Within the target (CALLBACK_SLA_MINUTES) or "later"; a call we
   never made is "not called back" even when the client rang again and was answered, which
   is its own column ("client called again"). Calls back are looked for up to the period's
   end plus the target (a call missed in its last minutes keeps its full target), or now.
4. Activities: "done" when done in the period; "done late" when done in it after their due
   time; "overdue" when still open (not done, not canceled) past due at the period's end,
   whenever they were due.
5. Deals: created, won and lost in the period; "open" is the state at the period's end,
   rebuilt from the stage history (core/reports/deals.py), with stage-to-stage
   conversion, days in stage, loss reasons and the client's source; amounts in the currency
   most deals use. Stale deals: open at the end, untouched for two weeks, nothing planned
   (core/reports/stale.py).
6. Plan: the monthly targets (core/targets) of the month the cut-off falls in, against the
   same figures counted from that month's first day to the cut-off (a daily digest shows
   the month so far); "on pace" is at least the target times the share of the month gone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from core.activities.models import Activity
from core.calls.models import Call
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.deals.models import Deal
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.reports import deals as report_deals
from core.reports import stale as report_stale
from core.reports.dto import Digest, Figures, MissedCallRow, PersonSummary, PlanRow
from core.reports.periods import Comparison, compare
from core.reports.rows import (
    Missed,
    activity_rows,
    call_rows,
    calls_clause,
    done_clause,
    done_late_clause,
    missed_call_rows,
    overdue_clause,
    person_of_call,
)
from core.targets import service as targets
from core.users.models import User
from core.users.service import check_timezone

__all__ = ["MAX_PERIOD", "Digest", "digest", "digest_for", "period"]

MAX_PERIOD = timedelta(days=400)
Of = Callable[[int | None], Figures]


async def digest(ctx: Ctx, *, actor_id: int, start: datetime, end: datetime, tz: str) -> Digest:
    """The digest of [start, end) as the user `actor_id` (a manager or admin) may see it."""
    user = await ctx.session.get(User, actor_id)
    if user is None or not user.active:
        raise NotFound(f"user {actor_id} not found")
    return await digest_for(ctx, actor=Actor.of_user(user), start=start, end=end, tz=tz)


async def digest_for(ctx: Ctx, *, actor: Actor, start: datetime, end: datetime, tz: str) -> Digest:
    """The digest of [start, end) for an actor (employee or API key) who sees the whole team."""
    if not actor.sees_all:
        raise PermissionDenied(
            "the sales digest is for managers and admins", code="digest-manager-only"
        )
    _check_period(start, end)
    check_timezone(tz)
    now = ctx.clock.now()
    plan = compare(start, end, now, tz)
    target = timedelta(minutes=ctx.config.callback_sla_minutes)
    names = dict((await ctx.session.execute(select(User.id, User.name))).tuples().all())
    active_sales = set(
        await ctx.session.scalars(
            select(User.id).where(User.active.is_(True), User.role == "sales")
        )
    )
    currency = await _main_currency(ctx, plan.as_of)
    # Calls back are looked for up to the target past the cut-off (no further than now), and
    # as far past the previous period's, so both are measured alike.
    grace = min(plan.as_of + target, max(now, plan.as_of)) - plan.as_of
    # The previous period first: only its figures are kept, its rows are let go.
    previous, _, _ = await _period_figures(
        ctx,
        start=plan.previous_start,
        as_of=plan.previous_as_of,
        cutoff=plan.previous_as_of + grace,
        currency=currency,
        names=None,
    )
    current, missed, deals_now = await _period_figures(
        ctx,
        start=start,
        as_of=plan.as_of,
        cutoff=plan.as_of + grace,
        currency=currency,
        names=names,
    )
    people, total = _people(names, active_sales, current, previous)
    funnel = report_deals.funnel(deals_now, start=start, as_of=plan.as_of)
    month, plan_rows, elapsed = await _plan(
        ctx, start=start, plan=plan, tz=tz, current=current, currency=currency, names=names
    )
    return Digest(
        start=start,
        end=end,
        previous_start=plan.previous_start,
        previous_end=plan.previous_end,
        as_of=plan.as_of,
        previous_as_of=plan.previous_as_of,
        kind=plan.kind,
        callback_target_minutes=ctx.config.callback_sla_minutes,
        generated_at=now,
        timezone=tz,
        currency=currency,
        people=people,
        total=total,
        calls=[row async for row in call_rows(ctx, start=start, as_of=plan.as_of, names=names)],
        missed_calls=missed,
        overdue_activities=await activity_rows(ctx, start=start, as_of=plan.as_of, names=names),
        pipeline=report_deals.pipeline(deals_now, start=start, as_of=plan.as_of),
        funnel=funnel,
        forecast=report_deals.forecast(
            deals_now, funnel, as_of=plan.as_of, length=end - start, currency=currency
        ),
        loss_reasons=report_deals.loss_reasons(
            deals_now, start=start, as_of=plan.as_of, currency=currency
        ),
        sources=report_deals.by_source(deals_now, start=start, as_of=plan.as_of, currency=currency),
        stale_deals=await report_stale.stale_deals(ctx, deals_now, as_of=plan.as_of, names=names),
        stale_days=report_stale.STALE_DAYS,
        plan_month=month,
        plan=plan_rows,
        plan_elapsed=elapsed,
    )


async def _plan(
    ctx: Ctx,
    *,
    start: datetime,
    plan: Comparison,
    tz: str,
    current: dict[int | None, Figures],
    currency: str,
    names: dict[int, str],
) -> tuple[date | None, list[PlanRow], float]:
    """The targets of the month the cut-off falls in, each beside the month's figure so far."""
    zone = ZoneInfo(tz)
    last = max(plan.as_of - timedelta(microseconds=1), start).astimezone(zone)
    month = last.date().replace(day=1)
    wanted = await targets.month_targets(ctx, month=month)
    if not wanted:
        return None, [], 1.0
    first = datetime.combine(month, time(), tzinfo=zone).astimezone(UTC)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    end = datetime.combine(following, time(), tzinfo=zone).astimezone(UTC)
    figures = (
        current
        if plan.kind == "month"
        else await _month_figures(ctx, start=first, as_of=plan.as_of, currency=currency)
    )
    elapsed = min(max((plan.as_of - first) / (end - first), 0.0), 1.0)
    rows = []
    for uid, wanted_of in wanted.items():
        f = figures.get(uid, Figures())
        actual = {
            "won_amount": f.amount_won,
            "deals_won": Decimal(f.deals_won),
            "calls_out": Decimal(f.calls_out),
        }
        rows.append(PlanRow(uid, names.get(uid, ""), wanted_of, actual))
    rows.sort(key=lambda r: (r.name.casefold(), r.user_id))
    return month, rows, elapsed


async def _month_figures(
    ctx: Ctx, *, start: datetime, as_of: datetime, currency: str
) -> dict[int | None, Figures]:
    """Calls and deals per person from `start` to `as_of` (the figures targets are set on)."""
    result: dict[int | None, Figures] = {}

    def of(uid: int | None) -> Figures:
        return result.setdefault(uid, Figures())

    await _call_figures(ctx, start, as_of, of)
    deals = await report_deals.deals_at(ctx, start=start, as_of=as_of)
    report_deals.add_figures(deals, start=start, as_of=as_of, currency=currency, of=of)
    return result


def _people(
    names: dict[int, str],
    active_sales: set[int],
    current: dict[int | None, Figures],
    previous: dict[int | None, Figures],
) -> tuple[list[PersonSummary], PersonSummary]:
    """A row per salesperson (the active ones, and anyone with figures), best first."""
    ids = active_sales | {u for u, f in current.items() if u is not None and f != Figures()}
    ids |= {u for u, f in previous.items() if u is not None and f != Figures()}
    people = [
        PersonSummary(
            uid, names.get(uid, ""), current.get(uid, Figures()), previous.get(uid, Figures())
        )
        for uid in ids
    ]
    # Ranked by what a sales team is paid for: money won, then deals, then calls.
    people.sort(
        key=lambda p: (
            -p.current.amount_won,
            -p.current.deals_won,
            -p.current.calls,
            p.name.casefold(),
        )
    )
    if current.get(None, Figures()) != Figures() or previous.get(None, Figures()) != Figures():
        people.append(
            PersonSummary(None, "", current.get(None, Figures()), previous.get(None, Figures()))
        )
    total = PersonSummary(None, "", Figures(), Figures())
    for row in people:
        total.current.add(row.current)
        total.previous.add(row.previous)
    return people, total


def period(start: str, end: str, *, tz: str) -> tuple[datetime, datetime]:
    """[start, end) from what people type: dates (the last day included) or aware datetimes."""
    zone = ZoneInfo(check_timezone(tz))
    first = _moment(start, zone, field="from", next_day=False)
    last = _moment(end, zone, field="to", next_day=True)
    _check_period(first, last)
    return first, last


def _moment(text: str, zone: ZoneInfo, *, field: str, next_day: bool) -> datetime:
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        if next_day:
            day += timedelta(days=1)
        return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(
            f"{field}: {text!r} is not a date (YYYY-MM-DD) or a date and time",
            field=field,
            code="date-invalid",
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _check_period(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("the period needs aware datetimes", field="from")
    if end <= start:
        raise InvalidInput("the period must end after it starts", field="to", code="period-order")
    if end - start > MAX_PERIOD:
        raise InvalidInput(
            f"the period is longer than {MAX_PERIOD.days} days",
            field="to",
            code="period-too-long",
            args={"days": MAX_PERIOD.days},
        )


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def _main_currency(ctx: Ctx, as_of: datetime) -> str:
    row = await ctx.session.execute(
        select(Deal.currency, func.count())
        .where(Deal.created_at < as_of)
        .group_by(Deal.currency)
        .order_by(func.count().desc(), Deal.currency)
    )
    first = row.first()
    return str(first[0]) if first else "RUB"


async def _period_figures(
    ctx: Ctx,
    *,
    start: datetime,
    as_of: datetime,
    cutoff: datetime,
    currency: str,
    names: dict[int, str] | None,
) -> tuple[dict[int | None, Figures], list[MissedCallRow], report_deals.DealsAt]:
    """A period's figures per person, with its missed-call rows and its deals at `as_of`."""
    result: dict[int | None, Figures] = {}

    def of(uid: int | None) -> Figures:
        return result.setdefault(uid, Figures())

    await _call_figures(ctx, start, as_of, of)
    missed: list[MissedCallRow] = []
    target = timedelta(minutes=ctx.config.callback_sla_minutes)
    async for item in missed_call_rows(
        ctx, start=start, as_of=as_of, cutoff=cutoff, target=target, names=names
    ):
        _add_missed(of(item.user_id), item)
        if names is not None:
            missed.append(item.row)
    await _activity_figures(ctx, start, as_of, of)
    await _contact_figures(ctx, start, as_of, of)
    deals = await report_deals.deals_at(ctx, start=start, as_of=as_of)
    report_deals.add_figures(deals, start=start, as_of=as_of, currency=currency, of=of)
    return result, missed, deals


async def _contact_figures(ctx: Ctx, start: datetime, as_of: datetime, of: Of) -> None:
    contacts = await ctx.session.execute(
        select(Contact.owner_id, func.count())
        .where(
            Contact.created_at >= start,
            Contact.created_at < as_of,
            or_(Contact.deleted_at.is_(None), Contact.deleted_at >= as_of),
        )
        .group_by(Contact.owner_id)
    )
    for uid, count in contacts.tuples():
        of(uid).new_contacts = int(count)


def _add_missed(figures: Figures, item: Missed) -> None:
    figures.missed += 1
    result = item.row.result
    if result == "in_target":
        figures.called_back_in_target += 1
    elif result == "later":
        figures.called_back_later += 1
    elif result == "client":
        figures.client_called_again += 1
    else:
        figures.not_called_back += 1
    if item.row.callback_seconds is not None:
        figures.callback_seconds.append(item.row.callback_seconds)


async def _call_figures(ctx: Ctx, start: datetime, as_of: datetime, of: Of) -> None:
    person = person_of_call().label("person")
    answered = Call.status == "answered"
    calls = await ctx.session.execute(
        select(
            person,
            _count(Call.direction == "in"),
            _count(Call.direction == "out"),
            _count(and_(Call.direction == "in", answered)),
            _count(and_(Call.direction == "out", answered)),
            func.coalesce(func.sum(Call.talk_seconds), 0),
        )
        .outerjoin(Contact, Contact.id == Call.contact_id)
        .where(calls_clause(start, as_of))
        .group_by(person)
    )
    for uid, calls_in, calls_out, answered_in, answered_out, talk in calls.tuples():
        figures = of(uid)
        figures.calls_in, figures.calls_out = int(calls_in), int(calls_out)
        figures.answered_in, figures.answered_out = int(answered_in), int(answered_out)
        figures.talk_seconds = int(talk)


async def _activity_figures(ctx: Ctx, start: datetime, as_of: datetime, of: Of) -> None:
    counts = await ctx.session.execute(
        select(
            Activity.owner_id,
            _count(done_clause(start, as_of)),
            _count(done_late_clause(start, as_of)),
            _count(overdue_clause(as_of)),
        )
        .where(or_(done_clause(start, as_of), overdue_clause(as_of)))
        .group_by(Activity.owner_id)
    )
    for uid, done, late, overdue in counts.tuples():
        figures = of(uid)
        figures.activities_done = int(done)
        figures.activities_done_late = int(late)
        figures.activities_overdue = int(overdue)
