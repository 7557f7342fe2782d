"""Background jobs (core/jobs/service.py): claimed once, retried after a crash a bounded
number of times, requeued once per tap, and pruned after they finished."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import housekeeping
from core.config import CoreConfig
from core.context import Actor, Ctx
from core.imports import jobs as import_jobs
from core.imports.jobs import ImportCodec, ImportJobOptions
from core.jobs import service as jobs
from core.jobs.models import BackgroundJob
from core.jobs.service import Claimed
from core.outbox.models import Notification
from core.users import service as users
from core.users.models import User
from tests.fakes.clock import FakeClock


async def _manager(ctx: Ctx) -> tuple[User, int]:
    user = await users.create_user(
        ctx, actor=Actor.system("test"), name="Anna", role="manager", telegram_user_id=501
    )
    return user, user.id


async def _queue(ctx: Ctx, count: int, *, kind: str = "import_preview") -> list[int]:
    made = [
        await jobs.enqueue(ctx, kind=kind, payload={"n": n}, data=b"file %d" % n, chat_id=1)
        for n in range(count)
    ]
    await ctx.session.commit()
    return [job.id for job in made]


async def _stored(ctx: Ctx, job_id: int) -> BackgroundJob:
    ctx.session.expire_all()
    job = await ctx.session.get(BackgroundJob, job_id)
    assert job is not None
    await ctx.session.commit()
    return job


async def test_a_claimed_job_is_not_claimed_again_until_its_lease_runs_out(
    ctx: Ctx, clock: FakeClock
) -> None:
    (job_id,) = await _queue(ctx, 1)
    (claimed,) = await jobs.claim(ctx, kinds=["import_preview"], claim_seconds=60)
    assert (claimed.id, claimed.attempts, claimed.payload) == (job_id, 1, {"n": 0})
    assert await jobs.claim(ctx, kinds=["import_preview"]) == []
    assert await jobs.claim(ctx, kinds=["import_apply"]) == []
    clock.advance(seconds=59)
    assert await jobs.claim(ctx, kinds=["import_preview"]) == []
    clock.advance(seconds=2)  # the instance that claimed it died: taken again, counted
    (again,) = await jobs.claim(ctx, kinds=["import_preview"])
    assert (again.id, again.attempts) == (job_id, 2)
    await jobs.finish(ctx, job_id=job_id, result={"ok": True})
    await ctx.session.commit()
    clock.advance(seconds=3600)
    assert await jobs.claim(ctx, kinds=["import_preview"]) == []
    stored = await _stored(ctx, job_id)
    assert (stored.status, stored.data, stored.result) == ("done", None, {"ok": True})


async def test_concurrent_claimers_share_the_jobs_without_overlap(
    ctx: Ctx, sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> None:
    queued = await _queue(ctx, 12)

    async def worker() -> list[int]:
        taken: list[int] = []
        while True:
            async with sessions() as session:
                other = Ctx(session=session, config=config, clock=clock)
                claimed = await jobs.claim(other, kinds=["import_preview"], limit=2)
            if not claimed:
                return taken
            taken += [job.id for job in claimed]
            await asyncio.sleep(0)

    results = await asyncio.gather(*(worker() for _ in range(4)))
    everything = [job_id for taken in results for job_id in taken]
    assert sorted(everything) == queued  # each job claimed by exactly one worker


async def test_a_postponed_job_waits_and_its_attempt_is_not_counted(
    ctx: Ctx, clock: FakeClock
) -> None:
    (job_id,) = await _queue(ctx, 1)
    await jobs.claim(ctx, kinds=["import_preview"])
    await jobs.postpone(ctx, job_id=job_id, until=clock.now() + timedelta(seconds=30), reason="x")
    await ctx.session.commit()
    assert await jobs.claim(ctx, kinds=["import_preview"]) == []
    clock.advance(seconds=30)
    (claimed,) = await jobs.claim(ctx, kinds=["import_preview"])
    assert claimed.attempts == 1


async def test_requeue_and_drop_take_a_finished_job_once_and_only_its_owners(
    ctx: Ctx, clock: FakeClock
) -> None:
    _anna, anna_id = await _manager(ctx)
    job = await jobs.enqueue(ctx, kind="import_preview", payload={}, data=b"x", user_id=anna_id)
    await ctx.session.commit()
    kinds = ("import_preview",)
    step = {"job_id": job.id, "from_kinds": kinds, "kind": "import_apply", "payload": {}}
    assert not await jobs.requeue(ctx, user_id=anna_id, **step)  # still queued: not finished
    await jobs.claim(ctx, kinds=kinds)
    await jobs.finish(ctx, job_id=job.id, result={}, keep_data=True)
    assert not await jobs.requeue(ctx, user_id=anna_id + 1, **step)  # someone else's
    assert await jobs.requeue(ctx, user_id=anna_id, **step)
    assert not await jobs.requeue(ctx, user_id=anna_id, **step)  # the second tap
    await ctx.session.commit()
    stored = await _stored(ctx, job.id)
    assert (stored.kind, stored.status, stored.attempts, stored.data) == (
        "import_apply",
        "queued",
        0,
        b"x",
    )
    assert not await jobs.drop_data(ctx, job_id=job.id, user_id=anna_id, from_kinds=kinds)


async def test_a_job_whose_process_died_every_time_is_given_up_with_an_apology(
    ctx: Ctx, clock: FakeClock
) -> None:
    anna, anna_id = await _manager(ctx)
    job_id = await import_jobs.queue_file(
        ctx, actor=Actor.of_user(anna), data=b"a;b\n", filename="a.csv", chat_id=501, locale="ru"
    )
    options = ImportJobOptions(max_attempts=2, claim_seconds=60)
    read_calls = 0

    def reader(_data: bytes, _name: str) -> object:
        nonlocal read_calls
        read_calls += 1
        raise AssertionError("a job past its attempts must not read the file again")

    codec = ImportCodec(read=reader, rejected_workbook=lambda *_: b"")  # type: ignore[arg-type]
    claimed: list[Claimed] = []
    for _ in range(3):  # each claim's process "dies": the lease runs out
        claimed += await jobs.claim(ctx, kinds=import_jobs.KINDS, claim_seconds=60)
        clock.advance(seconds=61)
    assert [c.attempts for c in claimed] == [1, 2, 3]
    outcome = await import_jobs.run_claimed(ctx, job=claimed[-1], codec=codec, options=options)
    assert outcome == "failed" and read_calls == 0
    stored = await _stored(ctx, job_id)
    assert (stored.status, stored.data) == ("failed", None)
    assert "stopped during each of 2 attempts" in (stored.last_error or "")
    notes = list(await ctx.session.scalars(select(Notification)))
    assert [(n.kind, n.user_id, n.payload["job_id"]) for n in notes] == [
        ("import_failed", anna_id, job_id)
    ]


async def test_housekeeping_deletes_finished_jobs_after_the_retention(
    ctx: Ctx, clock: FakeClock
) -> None:
    old_done, old_failed, waiting, fresh = await _queue(ctx, 4)
    assert len(await jobs.claim(ctx, kinds=["import_preview"], limit=3)) == 3
    await jobs.finish(ctx, job_id=old_done, result={})
    await jobs.fail(ctx, job_id=old_failed, error="boom")
    await jobs.finish(ctx, job_id=waiting, result={}, keep_data=True)  # a preview, not applied
    await ctx.session.commit()
    clock.advance(days=1)
    assert await housekeeping.purge_finished_jobs(ctx) == 0
    clock.advance(days=1, seconds=1)
    assert await housekeeping.purge_finished_jobs(ctx) == 3  # its buttons are stale by now
    remaining = list(await ctx.session.scalars(select(BackgroundJob.id)))
    assert remaining == [fresh]  # queued, never finished: kept for a week
    clock.advance(days=5)
    assert await housekeeping.purge_finished_jobs(ctx) == 1
