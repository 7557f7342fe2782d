"""The digest's detail rows, read from the database in batches, and the clauses they share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import aliased

from core.context import Ctx
from core.models.calls import Call
from core.models.contacts import Contact
from core.models.work import Activity, Deal, PipelineStage
from core.reports.dto import CallRow, MissedCallRow, OverdueActivityRow, PipelineRow

MISSED_STATUSES = ("missed", "busy", "failed")
BATCH = 2000
_callback = aliased(Call)


def person_of_call() -> ColumnElement[Any]:
    return func.coalesce(Call.user_id, Contact.owner_id)


def overdue_clause(start: datetime, end: datetime, now: datetime) -> ColumnElement[bool]:
    """Due in the period (and already past), then not done on time."""
    return and_(
        Activity.due_at >= start,
        Activity.due_at < min(end, now),
        or_(
            Activity.status == "planned",
            and_(Activity.status == "done", Activity.done_at > Activity.due_at),
        ),
    )


async def call_rows(
    ctx: Ctx, *, start: datetime, end: datetime, names: dict[int, str]
) -> AsyncIterator[CallRow]:
    """Calls of the period, oldest first, read from the database in batches."""
    person = person_of_call()
    query = (
        select(
            Call.started_at,
            Call.direction,
            Call.status,
            person,
            func.coalesce(Call.client_e164, Call.client_raw),
            Contact.name,
            Call.ring_seconds,
            Call.talk_seconds,
            Call.outcome,
            Call.summary,
        )
        .outerjoin(Contact, Contact.id == Call.contact_id)
        .where(Call.started_at >= start, Call.started_at < end, Call.direction != "internal")
        .order_by(Call.started_at, Call.id)
    )
    async for row in _stream(ctx, query):
        started, direction, status, uid, phone, contact, ring, talk, outcome, summary = row
        yield CallRow(
            started_at=started,
            direction=direction,
            status=status,
            salesperson=names.get(uid, "") if uid is not None else "",
            client_phone=phone or "",
            contact=contact or "",
            ring_seconds=ring,
            talk_seconds=talk,
            outcome=outcome or "",
            summary=summary or "",
        )


async def _stream(ctx: Ctx, query: Select[Any]) -> AsyncIterator[Any]:
    result = await ctx.session.stream(query.execution_options(yield_per=BATCH))
    async for partition in result.partitions(BATCH):
        for row in partition:
            yield row


class _Missed:
    __slots__ = ("row", "user_id")

    def __init__(self, user_id: int | None, row: MissedCallRow) -> None:
        self.user_id = user_id
        self.row = row


async def missed_call_rows(
    ctx: Ctx, start: datetime, end: datetime, now: datetime, names: dict[int, str] | None
) -> AsyncIterator[_Missed]:
    """Missed calls of the period with the first answered call from/to the number after it."""
    callback_at = (
        select(func.min(func.coalesce(_callback.answered_at, _callback.started_at)))
        .where(
            _callback.client_e164 == Call.client_e164,
            _callback.status == "answered",
            _callback.started_at > Call.started_at,
            _callback.started_at <= now,
        )
        .scalar_subquery()
    )
    query = (
        select(
            Call.started_at,
            Call.ended_at,
            person_of_call(),
            func.coalesce(Call.client_e164, Call.client_raw),
            Contact.name,
            callback_at,
        )
        .outerjoin(Contact, Contact.id == Call.contact_id)
        .where(
            Call.started_at >= start,
            Call.started_at < end,
            Call.direction == "in",
            Call.status.in_(MISSED_STATUSES),
        )
        .order_by(Call.started_at, Call.id)
    )
    async for started, ended, uid, phone, contact, back_at in _stream(ctx, query):
        back = _aware(back_at)
        seconds = None
        if back is not None:
            seconds = max(int((back - (_aware(ended) or started)).total_seconds()), 0)
        salesperson = "" if names is None or uid is None else names.get(uid, "")
        yield _Missed(
            uid,
            MissedCallRow(started, salesperson, phone or "", contact or "", back, seconds),
        )


def _aware(value: datetime | str | None) -> datetime | None:
    """A UTC datetime from a subquery, which the column type does not decode on SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def overdue_rows(
    ctx: Ctx, start: datetime, end: datetime, now: datetime, names: dict[int, str]
) -> list[OverdueActivityRow]:
    rows = await ctx.session.execute(
        select(
            Activity.due_at,
            Activity.owner_id,
            Activity.kind,
            Activity.title,
            Contact.name,
            Activity.done_at,
        )
        .outerjoin(Contact, Contact.id == Activity.contact_id)
        .where(overdue_clause(start, end, now))
        .order_by(Activity.due_at, Activity.id)
    )
    return [
        OverdueActivityRow(
            due or start,
            names.get(uid, "") if uid is not None else "",
            kind,
            title,
            contact or "",
            done,
        )
        for due, uid, kind, title, contact, done in rows.tuples()
    ]


async def pipeline_rows(ctx: Ctx) -> list[PipelineRow]:
    rows = await ctx.session.execute(
        select(
            PipelineStage.name,
            Deal.currency,
            func.count(),
            func.coalesce(func.sum(Deal.amount_minor), 0),
        )
        .join(PipelineStage, PipelineStage.code == Deal.stage)
        .where(PipelineStage.outcome == "open")
        .group_by(PipelineStage.position, PipelineStage.name, Deal.currency)
        .order_by(PipelineStage.position, Deal.currency)
    )
    return [
        PipelineRow(stage, int(count), Decimal(int(amount or 0)) / 100, currency)
        for stage, currency, count, amount in rows.tuples()
    ]
