"""The digest's detail rows, read from the database in batches, and the clauses they share.

Every query here is bounded by the period's cut-off, so nothing that happened after it (a
callback, a task done, a contact deleted) changes a closed period's rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, not_, or_, select
from sqlalchemy.orm import aliased

from core.activities.models import Activity
from core.calls.models import Call
from core.contacts.models import Contact
from core.context import Ctx
from core.reports.dto import CallRow, MissedCallRow, OverdueActivityRow

MISSED_STATUSES = ("missed", "busy", "failed")
BATCH = 2000
_later = aliased(Call)


def person_of_call() -> ColumnElement[Any]:
    return func.coalesce(Call.user_id, Contact.owner_id)


def calls_clause(start: datetime, as_of: datetime) -> ColumnElement[bool]:
    """The period's calls with a client: started in [start, as_of), internal ones left out."""
    return and_(Call.started_at >= start, Call.started_at < as_of, Call.direction != "internal")


def done_at() -> ColumnElement[Any]:
    # A done activity without done_at (old data) was done when it was last updated.
    return func.coalesce(Activity.done_at, Activity.updated_at)


def done_clause(start: datetime, as_of: datetime) -> ColumnElement[bool]:
    """Done in [start, as_of)."""
    return and_(Activity.status == "done", done_at() >= start, done_at() < as_of)


def done_late_clause(start: datetime, as_of: datetime) -> ColumnElement[bool]:
    """Done in [start, as_of) after it was due."""
    return and_(
        done_clause(start, as_of), Activity.due_at.is_not(None), done_at() > Activity.due_at
    )


def overdue_clause(as_of: datetime) -> ColumnElement[bool]:
    """Open at `as_of` (created before it, not done or canceled before it) and due before it.
    A cancellation has no time of its own; the activity's last update stands for it."""
    closed_before = or_(
        and_(Activity.status == "done", done_at() < as_of),
        and_(Activity.status == "canceled", Activity.updated_at < as_of),
    )
    return and_(
        Activity.due_at < as_of,
        Activity.created_at < as_of,
        not_(closed_before),
    )


async def call_rows(
    ctx: Ctx, *, start: datetime, as_of: datetime, names: dict[int, str]
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
            Call.recording,
        )
        .outerjoin(Contact, Contact.id == Call.contact_id)
        .where(calls_clause(start, as_of))
        .order_by(Call.started_at, Call.id)
    )
    async for row in stream(ctx, query):
        started, direction, status, uid, phone, contact, ring, talk, outcome, summary, record = row
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
            recording=record or None,
        )


async def stream(ctx: Ctx, query: Select[Any]) -> AsyncIterator[Any]:
    result = await ctx.session.stream(query.execution_options(yield_per=BATCH))
    async for partition in result.partitions(BATCH):
        for row in partition:
            yield row


class Missed:
    """A missed call with the person it counts for (the row names them only when asked)."""

    __slots__ = ("row", "user_id")

    def __init__(self, user_id: int | None, row: MissedCallRow) -> None:
        self.user_id = user_id
        self.row = row


def _first_answered(direction: str, cutoff: datetime) -> Any:
    """The first answered call with the missed call's number in `direction` after it."""
    return (
        select(func.min(func.coalesce(_later.answered_at, _later.started_at)))
        .where(
            _later.client_e164 == Call.client_e164,
            _later.direction == direction,
            _later.status == "answered",
            _later.started_at > Call.started_at,
            func.coalesce(_later.answered_at, _later.started_at) < cutoff,
        )
        .scalar_subquery()
    )


async def missed_call_rows(
    ctx: Ctx,
    *,
    start: datetime,
    as_of: datetime,
    cutoff: datetime,
    target: timedelta,
    names: dict[int, str] | None,
) -> AsyncIterator[Missed]:
    """Inbound calls of [start, as_of) not answered, each with how it was followed up by
    `cutoff`: our answered outbound call within `target` of its end, later, the client's
    own answered call, or nothing."""
    query = (
        select(
            Call.started_at,
            Call.ended_at,
            person_of_call(),
            func.coalesce(Call.client_e164, Call.client_raw),
            Contact.name,
            _first_answered("out", cutoff),
            _first_answered("in", cutoff),
        )
        .outerjoin(Contact, Contact.id == Call.contact_id)
        .where(
            Call.started_at >= start,
            Call.started_at < as_of,
            Call.direction == "in",
            Call.status.in_(MISSED_STATUSES),
        )
        .order_by(Call.started_at, Call.id)
    )
    async for started, ended, uid, phone, contact, ours_at, theirs_at in stream(ctx, query):
        ours, theirs = _aware(ours_at), _aware(theirs_at)
        seconds: int | None = None
        client_at: datetime | None = None
        if ours is not None:
            seconds = max(int((ours - (_aware(ended) or started)).total_seconds()), 0)
            result = "in_target" if seconds <= target.total_seconds() else "later"
        elif theirs is not None:
            result, client_at = "client", theirs
        else:
            result = "never"
        salesperson = "" if names is None or uid is None else names.get(uid, "")
        row = MissedCallRow(
            started, salesperson, phone or "", contact or "", ours, seconds, result, client_at
        )
        yield Missed(uid, row)


def _aware(value: datetime | str | None) -> datetime | None:
    """A UTC datetime from a subquery, which the column type does not decode on SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def activity_rows(
    ctx: Ctx, *, start: datetime, as_of: datetime, names: dict[int, str]
) -> list[OverdueActivityRow]:
    """Activities still open past due at `as_of`, then those done late in [start, as_of)."""
    rows = await ctx.session.execute(
        select(
            Activity.due_at,
            Activity.owner_id,
            Activity.kind,
            Activity.title,
            Contact.name,
            done_at(),
            Activity.status,
        )
        .outerjoin(Contact, Contact.id == Activity.contact_id)
        .where(or_(overdue_clause(as_of), done_late_clause(start, as_of)))
        .order_by(Activity.due_at, Activity.id)
    )
    overdue: list[OverdueActivityRow] = []
    late: list[OverdueActivityRow] = []
    for due, uid, kind, title, contact, done, status in rows.tuples():
        finished = _aware(done) if status == "done" else None
        if finished is not None and finished >= as_of:
            finished = None  # done after the period: still open at its end
        due = _aware(due) or start
        late_by = int(((finished or as_of) - due).total_seconds())
        row = OverdueActivityRow(
            due,
            names.get(uid, "") if uid is not None else "",
            kind,
            title,
            contact or "",
            finished,
            max(late_by, 0),
        )
        (overdue if finished is None else late).append(row)
    return overdue + late
