"""Background jobs: heavy work taken off a Telegram update or a request, run by the scheduler.

1. Enqueue: a row with the kind, a JSON payload, the input bytes and who to tell, added in
   the caller's unit of work (the caller's use case commits, as with the outbox).
2. Claim: due, queued jobs are leased for `claim_seconds` and one attempt is counted (SKIP
   LOCKED on PostgreSQL, then a conditional UPDATE on every database, so two instances never
   take the same job). A job whose instance died mid-run is claimed again once its lease
   runs out; the runner gives up on a job claimed more than its `max_attempts` (a file that
   kills the process is tried a bounded number of times, not forever).
3. Finish, fail or postpone, in the runner's commit: done (result kept; the bytes dropped
   unless the next step needs them), failed (reason kept, bytes dropped), or queued again
   later without counting the attempt.
4. Requeue: a finished job runs again as another kind on its stored bytes (an import's
   Apply after its preview). Conditional, so a second tap finds nothing left to requeue.
5. Housekeeping deletes finished jobs after a retention (`housekeeping.purge_finished_jobs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import defer

from core.context import Ctx
from core.jobs.models import BackgroundJob


@dataclass(frozen=True)
class Claimed:
    """A leased job as the runner needs it: plain values, valid after its session ends."""

    id: int
    kind: str
    user_id: int | None
    chat_id: int | None
    attempts: int
    payload: dict[str, Any]


CLAIM_SECONDS = 600  # an import of the largest file allowed takes a few minutes
MAX_ATTEMPTS = 3


async def enqueue(
    ctx: Ctx,
    *,
    kind: str,
    payload: dict[str, Any],
    data: bytes | None = None,
    user_id: int | None = None,
    chat_id: int | None = None,
    run_after: datetime | None = None,
) -> BackgroundJob:
    """Add a queued job in the caller's unit of work (flushed for its id, not committed)."""
    now = ctx.clock.now()
    job = BackgroundJob(
        kind=kind[:32],
        status="queued",
        payload=payload,
        data=data,
        user_id=user_id,
        chat_id=chat_id,
        attempts=0,
        run_after=run_after or now,
        result={},
        created_at=now,
    )
    ctx.session.add(job)
    await ctx.session.flush()
    return job


def _claimable(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        BackgroundJob.status == "queued",
        BackgroundJob.run_after <= now,
        or_(BackgroundJob.claimed_until.is_(None), BackgroundJob.claimed_until < now),
    )


async def claim(
    ctx: Ctx, *, kinds: Sequence[str], limit: int = 1, claim_seconds: int = CLAIM_SECONDS
) -> list[Claimed]:
    """Lease due jobs of these kinds (oldest first) and commit; their bytes are not loaded."""
    now = ctx.clock.now()
    query = (
        select(BackgroundJob.id)
        .where(*_claimable(now), BackgroundJob.kind.in_(list(kinds)))
        .order_by(BackgroundJob.run_after, BackgroundJob.id)
        .limit(limit)
    )
    if ctx.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    until = now + timedelta(seconds=claim_seconds)
    ids: list[int] = []
    for job_id in list(await ctx.session.scalars(query)):
        # The same condition again: on SQLite (no row locks) another instance may have
        # leased it since the SELECT; then nothing is updated and the job is not ours.
        taken = await ctx.session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id, *_claimable(now))
            .values(claimed_until=until, attempts=BackgroundJob.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0):
            ids.append(job_id)
    await ctx.session.commit()
    if not ids:
        return []
    found = await ctx.session.scalars(
        select(BackgroundJob)
        .options(defer(BackgroundJob.data))
        .where(BackgroundJob.id.in_(ids))
        .order_by(BackgroundJob.run_after, BackgroundJob.id)
        .execution_options(populate_existing=True)
    )
    return [
        Claimed(j.id, j.kind, j.user_id, j.chat_id, j.attempts, dict(j.payload or {}))
        for j in found
    ]


async def stored_data(ctx: Ctx, *, job_id: int) -> bytes | None:
    """The job's input bytes, or None when they were dropped (the chain is finished)."""
    data = await ctx.session.scalar(select(BackgroundJob.data).where(BackgroundJob.id == job_id))
    return bytes(data) if data is not None else None


async def _settle(ctx: Ctx, job_id: int, **values: Any) -> None:
    await ctx.session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == job_id)
        .values(claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )


async def finish(ctx: Ctx, *, job_id: int, result: dict[str, Any], keep_data: bool = False) -> None:
    """Done: the result is kept, the bytes dropped unless `keep_data`. Does not commit."""
    values: dict[str, Any] = {"status": "done", "result": result, "last_error": None}
    if not keep_data:
        values["data"] = None
    await _settle(ctx, job_id, finished_at=ctx.clock.now(), **values)


async def fail(ctx: Ctx, *, job_id: int, error: str) -> None:
    """Failed for good: the reason is kept, the bytes dropped. Does not commit."""
    await _settle(
        ctx,
        job_id,
        status="failed",
        last_error=error[:2000],
        data=None,
        finished_at=ctx.clock.now(),
    )


async def postpone(ctx: Ctx, *, job_id: int, until: datetime, reason: str) -> None:
    """Back in the queue, due at `until`; this attempt is not counted. Does not commit."""
    await _settle(
        ctx,
        job_id,
        run_after=until,
        last_error=reason[:2000],
        attempts=BackgroundJob.attempts - 1,
    )


async def requeue(
    ctx: Ctx,
    *,
    job_id: int,
    user_id: int,
    from_kinds: Sequence[str],
    kind: str,
    payload: dict[str, Any],
) -> bool:
    """Run a finished job of this user again as `kind` on its stored bytes; False when it is
    not finished, not theirs, or its bytes are gone (a second tap). Does not commit."""
    result = await ctx.session.execute(
        update(BackgroundJob)
        .where(*_waiting(job_id, user_id, from_kinds))
        .values(
            kind=kind,
            payload=payload,
            status="queued",
            attempts=0,
            run_after=ctx.clock.now(),
            claimed_until=None,
            finished_at=None,
            result={},
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def drop_data(
    ctx: Ctx, *, job_id: int | None, user_id: int, from_kinds: Sequence[str]
) -> bool:
    """Forget a finished job's stored bytes (the user canceled), or those of every such job
    of the user (job_id None); False when there were none to forget (already applied,
    canceled or expired). Does not commit."""
    result = await ctx.session.execute(
        update(BackgroundJob)
        .where(*_waiting(job_id, user_id, from_kinds))
        .values(data=None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def _waiting(
    job_id: int | None, user_id: int, kinds: Sequence[str]
) -> tuple[ColumnElement[bool], ...]:
    """A finished job of this user that still holds its bytes: the next step may take it."""
    return (
        BackgroundJob.id == job_id if job_id is not None else BackgroundJob.id.is_not(None),
        BackgroundJob.user_id == user_id,
        BackgroundJob.kind.in_(list(kinds)),
        BackgroundJob.status == "done",
        BackgroundJob.data.is_not(None),
    )
