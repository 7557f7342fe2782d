"""The real scheduler on short intervals: it runs the jobs by itself, survives a job that
raises, and refuses a second instance on the same SQLite database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.activities import service as activities
from core.config import CoreConfig
from core.context import Actor, Ctx
from core.db import sqlite_file
from scheduler.jobs import Jobs
from scheduler.runner import Intervals, Scheduler, SchedulerError
from tests.conftest import PG_URL
from tests.fakes.clock import FakeClock
from tests.scheduler.helpers import make_user, outbox

FAST = Intervals(reminders=0.05, greetings=0.05, digests=0.05, housekeeping=0.05)


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


class FlakyJobs(Jobs):
    """Greetings raise on their first two runs."""

    greeting_runs = 0

    async def greetings(self) -> int:
        self.greeting_runs += 1
        if self.greeting_runs <= 2:
            raise RuntimeError("database went away")
        return await super().greetings()


async def test_the_running_scheduler_reminds_by_itself_and_outlives_a_failing_job(
    ctx: Ctx,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    anna = await make_user(ctx, "Анна", tg=101)
    task = await activities.plan(
        ctx, actor=Actor.of_user(anna), title="Позвонить", due_at=clock.now()
    )
    jobs = FlakyJobs(sessions=sessions, config=config, clock=clock)
    runner = Scheduler(jobs, intervals=FAST, sqlite_file=sqlite_file(database_url))
    caplog.set_level(logging.ERROR, logger="scheduler.runner")
    await runner.start()
    try:
        await _until(lambda: _count(ctx, "reminder", 1))
        later = await activities.plan(
            ctx,
            actor=Actor.of_user(anna),
            title="Встреча",
            due_at=clock.now() + timedelta(minutes=5),
        )
        await asyncio.sleep(0.2)
        assert await _count(ctx, "reminder", 1)  # not yet due on the (fake) clock
        clock.advance(minutes=5)
        await _until(lambda: _count(ctx, "reminder", 2))
        await _until(lambda: _ran(runner, "greetings", 1))
    finally:
        await runner.stop()
    assert not runner.running
    assert [n.payload["activity_id"] for n in await outbox(ctx, "reminder")] == [task.id, later.id]
    assert runner.failures["greetings"] == 2
    assert "scheduler job greetings failed" in caplog.text
    assert runner.runs["reminders"] >= 2
    assert runner.runs["housekeeping"] >= 1


async def _count(ctx: Ctx, kind: str, expected: int) -> bool:
    return len(await outbox(ctx, kind)) == expected


async def _ran(runner: Scheduler, job: str, times: int) -> bool:
    return runner.runs.get(job, 0) >= times


@pytest.mark.skipif(PG_URL is not None, reason="the single-instance lock is for SQLite")
async def test_a_second_scheduler_on_the_same_sqlite_database_is_refused(
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    database_url: str,
) -> None:
    path = sqlite_file(database_url)
    assert path is not None
    first = Scheduler(Jobs(sessions=sessions, config=config, clock=clock), sqlite_file=path)
    second = Scheduler(Jobs(sessions=sessions, config=config, clock=clock), sqlite_file=path)
    await first.start()
    try:
        with pytest.raises(SchedulerError, match="already running on this SQLite database"):
            await second.start()
        assert not second.running
    finally:
        await first.stop()
    await second.start()  # the lock went with the first one
    await second.stop()
