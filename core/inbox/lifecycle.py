"""Claim, apply, fail: the telephony inbox's state machine (the states: core/inbox/__init__.py).

Each public function here is a use case that commits once (or rolls back and raises); the
processor calls them with a session of its own per batch or row. What a stored request
means is the caller's `parse`: the providers live in telephony_webhooks, not in core.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, exists, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import aliased

from core.calls import service as calls
from core.calls.models import TelephonyEvent
from core.context import Ctx
from core.events import CallEvent
from core.retry import backoff
from core.telemetry import log_context, pop_origins

CallKey = tuple[str, str | None]  # (provider, call_key): the rows of one call keep their order
# unique_violation (the other instance inserted the call or contact first), deadlock, serialization
_RACE_SQLSTATES = frozenset({"23505", "40P01", "40001"})
ERROR_CHARS = 2000


class Unreadable(Exception):
    """A stored request that can never be applied (unknown provider, unparseable body): the
    row is settled with this reason instead of retried."""


Parse = Callable[[TelephonyEvent], Sequence[CallEvent]]  # raises Unreadable


class BatchFailed(Exception):
    """Applying a batch failed and was rolled back; `ids` are the rows it had claimed."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__(f"inbox batch of {len(ids)} rows failed")
        self.ids = ids


class RowFailed(Exception):
    """Applying one row failed and was rolled back; the cause is `__cause__`."""

    def __init__(self, key: CallKey) -> None:
        super().__init__(f"inbox row of call {key} failed")
        self.key = key


@dataclass(frozen=True)
class Failure:
    attempts: int
    retry_at: datetime | None  # None: parked after the last attempt


def lost_race(exc: BaseException) -> bool:
    """Whether another instance's concurrent transaction made this one fail (PostgreSQL;
    on SQLite one writer holds the lock, so a violation there is a real error)."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _RACE_SQLSTATES


async def apply_due(ctx: Ctx, *, limit: int, parse: Parse) -> int:
    """Claim up to `limit` due rows and apply them in one transaction; how many (0: none due).

    On failure nothing is kept: the transaction is rolled back and BatchFailed names the
    claimed rows (for `apply_row`, one by one)."""
    rows = await _claim_due(ctx, limit)
    if not rows:
        return 0
    ids = [row.id for row in rows]  # before a rollback expires the rows
    try:
        await _apply(ctx, rows, parse)
        await ctx.session.commit()
    except Exception as exc:
        await ctx.session.rollback()
        raise BatchFailed(ids) from exc
    return len(ids)


async def apply_row(
    ctx: Ctx, *, row_id: int, parse: Parse, waiting: Mapping[CallKey, datetime]
) -> Literal["applied", "held", "skipped"]:
    """Apply one row in its own transaction: "skipped" when it is gone, done or another
    instance holds it; "held" (due again at the wait's end) when an earlier row of its call
    waits in `waiting`, so the call's order holds; RowFailed (rolled back) when it fails."""
    query = select(TelephonyEvent).where(TelephonyEvent.id == row_id)
    row = await ctx.session.scalar(_skip_locked(ctx, query))
    if row is None or row.processed_at is not None:
        return "skipped"
    key = (row.provider, row.call_key)
    if key in waiting and row.call_key is not None:
        row.next_attempt_at = waiting[key]
        await ctx.session.commit()
        return "held"
    try:
        await _apply(ctx, [row], parse)
        await ctx.session.commit()
    except Exception as exc:
        await ctx.session.rollback()
        raise RowFailed(key) from exc
    return "applied"


async def fail(ctx: Ctx, *, row_id: int, error: BaseException, max_attempts: int) -> Failure:
    """Count a failed attempt: due again after the backoff, or parked (settled with its
    error) after `max_attempts`, so that the call's later rows go on without it."""
    row = await ctx.session.get(TelephonyEvent, row_id)
    if row is None:
        raise LookupError(f"inbox row {row_id} is gone")
    row.attempts += 1
    reason = f"{type(error).__name__}: {error}"
    now = ctx.clock.now()
    if row.attempts >= max_attempts:
        row.processed_at, row.next_attempt_at = now, None
        row.error = f"parked after {row.attempts} attempts: {reason}"[:ERROR_CHARS]
        retry_at = None
    else:
        row.next_attempt_at = retry_at = now + backoff(row.attempts)
        row.error = reason[:ERROR_CHARS]
    await ctx.session.commit()
    return Failure(attempts=row.attempts, retry_at=retry_at)


async def _claim_due(ctx: Ctx, limit: int) -> list[TelephonyEvent]:
    now = ctx.clock.now()
    earlier = aliased(TelephonyEvent)
    query = (
        select(TelephonyEvent)
        .where(
            TelephonyEvent.processed_at.is_(None),
            or_(TelephonyEvent.next_attempt_at.is_(None), TelephonyEvent.next_attempt_at <= now),
            # Order within a call: nothing overtakes an earlier row that waits to retry.
            ~exists().where(
                earlier.provider == TelephonyEvent.provider,
                earlier.call_key == TelephonyEvent.call_key,
                earlier.id < TelephonyEvent.id,
                earlier.processed_at.is_(None),
                earlier.next_attempt_at > now,
            ),
        )
        # `processed_at, id`, not `id`: the same order (processed_at is NULL in every row
        # here), read from ix_telephony_events_pending, so a claim reads the first `limit` due
        # rows. Ordered by id alone, PostgreSQL walked the primary key from the oldest row
        # ever stored, skipping every processed one, or anti-joined every pending row and
        # sorted them (62 ms a claim with 2,700 pending under NOTIFY_START load).
        .order_by(TelephonyEvent.processed_at, TelephonyEvent.id)
        .limit(limit)
    )
    return list(await ctx.session.scalars(_skip_locked(ctx, query)))


def _skip_locked(ctx: Ctx, query: Select[tuple[TelephonyEvent]]) -> Select[tuple[TelephonyEvent]]:
    """On PostgreSQL, rows another instance holds are left to it."""
    if ctx.session.bind is not None and ctx.session.bind.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


async def _apply(ctx: Ctx, rows: list[TelephonyEvent], parse: Parse) -> None:
    """Apply rows in order within the caller's transaction: their events to calls, then one
    statement marking them processed; a row that can never be read is settled on its own."""
    now = ctx.clock.now()
    parsed: list[tuple[TelephonyEvent, Sequence[CallEvent]]] = []
    for row in rows:
        try:
            parsed.append((row, parse(row)))
        except Unreadable as exc:
            row.attempts += 1
            row.processed_at, row.error = now, str(exc)[:ERROR_CHARS]
    everything = [event for _row, events in parsed for event in events]
    batch = await calls.prepare_batch(ctx, everything)
    applied: list[int] = []
    for row, events in parsed:
        with log_context(inbox_row_id=row.id):
            for event in events:
                call = await calls.apply_to_call(ctx, event=event, batch=batch)
                if event.kind == "ringing" and call.id is not None:  # its pop is timed
                    pop_origins.remember(call.id, row.received_at)
        applied.append(row.id)
        # On the inline SQLite driver nothing above suspends: let requests in between rows.
        await asyncio.sleep(0)
    if applied:
        # One statement for the batch instead of an UPDATE per row.
        await ctx.session.execute(
            update(TelephonyEvent)
            .where(TelephonyEvent.id.in_(applied))
            .values(processed_at=now, error=None, attempts=TelephonyEvent.attempts + 1)
            .execution_options(synchronize_session=False)
        )
