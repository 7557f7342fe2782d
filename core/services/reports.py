"""The sales digest: figures per salesperson against the previous period, and detail rows.

Managers and admins only. Calls are counted for the person on the call (its extension), else
the contact's owner; everything else for its owner. A missed call (inbound, not answered) is
called back by the next answered call with the same number, in either direction, up to now.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, select

from core.context import Actor, Ctx
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.models.calls import Call
from core.models.contacts import Contact
from core.models.users import User
from core.models.work import Activity, Deal, PipelineStage
from core.reports.dto import (
    Digest,
    Figures,
    PersonSummary,
)
from core.services.report_rows import (
    call_rows,
    missed_call_rows,
    overdue_clause,
    overdue_rows,
    person_of_call,
    pipeline_rows,
)
from core.services.users import check_timezone

MAX_PERIOD = timedelta(days=400)


async def digest(ctx: Ctx, *, actor_id: int, start: datetime, end: datetime, tz: str) -> Digest:
    """The digest of [start, end) as the user `actor_id` (a manager or admin) may see it."""
    user = await ctx.session.get(User, actor_id)
    if user is None or not user.active:
        raise NotFound(f"user {actor_id} not found")
    return await digest_for(ctx, actor=Actor.of_user(user), start=start, end=end, tz=tz)


async def digest_for(ctx: Ctx, *, actor: Actor, start: datetime, end: datetime, tz: str) -> Digest:
    """The digest of [start, end) for an actor (employee or API key) who sees the whole team."""
    if not actor.sees_all:
        raise PermissionDenied("the sales digest is for managers and admins")
    _check_period(start, end)
    check_timezone(tz)
    length = end - start
    previous_start = start - length
    now = ctx.clock.now()
    names = dict((await ctx.session.execute(select(User.id, User.name))).tuples().all())
    active = set(await ctx.session.scalars(select(User.id).where(User.active.is_(True))))
    currency = await _main_currency(ctx)
    current = await _figures(ctx, start, end, now, currency)
    previous = await _figures(ctx, previous_start, start, now, currency)
    people_ids = sorted(
        (active | set(current) | set(previous)) - {None},
        key=lambda uid: names.get(uid or 0, "").casefold(),
    )
    if None in current or None in previous:
        people_ids.append(None)
    people: list[PersonSummary] = []
    total = PersonSummary(None, "", Figures(), Figures())
    for uid in people_ids:
        row = PersonSummary(
            uid,
            names.get(uid, "") if uid is not None else "",
            current.get(uid, Figures()),
            previous.get(uid, Figures()),
        )
        people.append(row)
        total.current.add(row.current)
        total.previous.add(row.previous)
    return Digest(
        start=start,
        end=end,
        previous_start=previous_start,
        generated_at=now,
        timezone=tz,
        currency=currency,
        people=people,
        total=total,
        calls=[row async for row in call_rows(ctx, start=start, end=end, names=names)],
        missed_calls=[r.row async for r in missed_call_rows(ctx, start, end, now, names)],
        overdue_activities=await overdue_rows(ctx, start, end, now, names),
        pipeline=await pipeline_rows(ctx),
    )


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
            f"{field}: {text!r} is not a date (YYYY-MM-DD) or a date and time", field=field
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _check_period(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("the period needs aware datetimes", field="from")
    if end <= start:
        raise InvalidInput("the period must end after it starts", field="to")
    if end - start > MAX_PERIOD:
        raise InvalidInput(f"the period is longer than {MAX_PERIOD.days} days", field="to")


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def _main_currency(ctx: Ctx) -> str:
    row = await ctx.session.execute(
        select(Deal.currency, func.count()).group_by(Deal.currency).order_by(func.count().desc())
    )
    first = row.first()
    return str(first[0]) if first else "RUB"


async def _figures(
    ctx: Ctx, start: datetime, end: datetime, now: datetime, currency: str
) -> dict[int | None, Figures]:
    result: dict[int | None, Figures] = {}

    def of(uid: int | None) -> Figures:
        return result.setdefault(uid, Figures())

    person = person_of_call().label("person")
    calls = await ctx.session.execute(
        select(
            person,
            _count(Call.direction == "in"),
            _count(Call.direction == "out"),
            _count(Call.status == "answered"),
            func.coalesce(func.sum(Call.talk_seconds), 0),
        )
        .outerjoin(Contact, Contact.id == Call.contact_id)
        .where(Call.started_at >= start, Call.started_at < end, Call.direction != "internal")
        .group_by(person)
    )
    for uid, calls_in, calls_out, answered, talk in calls.tuples():
        figures = of(uid)
        figures.calls_in, figures.calls_out = int(calls_in), int(calls_out)
        figures.answered, figures.talk_seconds = int(answered), int(talk)
    async for missed in missed_call_rows(ctx, start, end, now, None):
        figures = of(missed.user_id)
        figures.missed += 1
        if missed.row.callback_seconds is not None:
            figures.missed_called_back += 1
            figures.callback_seconds.append(missed.row.callback_seconds)
    done = await ctx.session.execute(
        select(Activity.owner_id, func.count())
        .where(Activity.status == "done", Activity.done_at >= start, Activity.done_at < end)
        .group_by(Activity.owner_id)
    )
    for uid, count in done.tuples():
        of(uid).activities_done = int(count)
    overdue = await ctx.session.execute(
        select(Activity.owner_id, func.count())
        .where(overdue_clause(start, end, now))
        .group_by(Activity.owner_id)
    )
    for uid, count in overdue.tuples():
        of(uid).activities_overdue = int(count)
    contacts = await ctx.session.execute(
        select(Contact.owner_id, func.count())
        .where(Contact.created_at >= start, Contact.created_at < end, Contact.deleted_at.is_(None))
        .group_by(Contact.owner_id)
    )
    for uid, count in contacts.tuples():
        of(uid).new_contacts = int(count)
    await _deal_figures(ctx, start, end, currency, of)
    return result


async def _deal_figures(ctx: Ctx, start: datetime, end: datetime, currency: str, of: Any) -> None:
    created = await ctx.session.execute(
        select(Deal.owner_id, func.count())
        .where(Deal.created_at >= start, Deal.created_at < end)
        .group_by(Deal.owner_id)
    )
    for uid, count in created.tuples():
        of(uid).deals_created = int(count)
    in_currency = case((Deal.currency == currency, Deal.amount_minor), else_=0)
    closed = await ctx.session.execute(
        select(
            Deal.owner_id,
            PipelineStage.outcome,
            func.count(),
            func.coalesce(func.sum(in_currency), 0),
        )
        .join(PipelineStage, PipelineStage.code == Deal.stage)
        .where(
            Deal.closed_at >= start,
            Deal.closed_at < end,
            PipelineStage.outcome.in_(("won", "lost")),
        )
        .group_by(Deal.owner_id, PipelineStage.outcome)
    )
    for uid, outcome, count, amount in closed.tuples():
        figures = of(uid)
        if outcome == "won":
            figures.deals_won = int(count)
            figures.amount_won = Decimal(int(amount)) / 100
        else:
            figures.deals_lost = int(count)
