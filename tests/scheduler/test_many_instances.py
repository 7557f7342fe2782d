"""Many instances and restarts: two schedulers on one PostgreSQL database enqueue each of
500 due reminders exactly once; a scheduler killed mid-burst and started again loses none
and sends none twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.activities.reminders import ReminderOptions
from core.clock import SystemClock
from core.config import CoreConfig
from core.context import Ctx
from core.db import create_engine, session_factory, sqlite_file
from core.models import Activity, Notification
from scheduler.jobs import JobOptions
from scheduler.runner import Intervals, Scheduler
from tests.conftest import PG_URL
from tests.scheduler.concurrency import CountingJobs, due_reminders
from tests.scheduler.helpers import make_user

ROOT = Path(__file__).resolve().parents[2]
FAST = Intervals(reminders=0.05, greetings=60, digests=60, housekeeping=60)


async def _reminders(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """(notifications, distinct activities in them)."""
    async with sessions() as session:
        rows = list(
            await session.scalars(select(Notification).where(Notification.kind == "reminder"))
        )
    return len(rows), len({row.payload["activity_id"] for row in rows})


async def _unstamped(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Activity).where(Activity.reminded_at.is_(None))
            )
            or 0
        )


async def _wait_for(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while (await _reminders(sessions))[0] < count:
        assert asyncio.get_running_loop().time() < deadline, "reminders did not all go out"
        await asyncio.sleep(0.05)


@pytest.mark.skipif(PG_URL is None, reason="several instances need PostgreSQL")
async def test_two_instances_enqueue_each_of_500_reminders_exactly_once(
    ctx: Ctx, database_url: str
) -> None:
    anna = await make_user(ctx, "Анна", tg=101)
    now = datetime.now(UTC)
    instances = []
    for _ in range(2):  # each with its own engine, as separate processes would have
        engine = create_engine(database_url)
        jobs = CountingJobs(
            sessions=session_factory(engine),
            config=CoreConfig(),
            clock=SystemClock(),
            options=JobOptions(reminders=ReminderOptions(batch_size=20)),
        )
        instances.append((engine, jobs, Scheduler(jobs, intervals=FAST)))
    sessions = session_factory(instances[0][0])
    for _, _, runner in instances:
        await runner.start()
    try:
        await due_reminders(sessions, anna.id, 500, now - timedelta(seconds=1))
        await _wait_for(sessions, 500)
        await asyncio.sleep(0.3)  # a second copy would show up now
    finally:
        for engine, _, runner in instances:
            await runner.stop()
            await engine.dispose()
    assert await _reminders(sessions) == (500, 500)
    claims = [jobs.claimed for _, jobs, _ in instances]
    assert sum(claims) == 500, claims  # no activity was claimed by both
    assert await _unstamped(sessions) == 0


async def test_a_scheduler_killed_mid_burst_and_restarted_loses_none_and_repeats_none(
    ctx: Ctx, sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    anna = await make_user(ctx, "Анна", tg=101)
    total = 1000
    await due_reminders(sessions, anna.id, total, datetime.now(UTC) - timedelta(seconds=1))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.scheduler.instance_main",
        database_url,
        "10",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while (await _reminders(sessions))[0] < total // 5:
            assert child.returncode is None, "the instance died by itself"
            assert asyncio.get_running_loop().time() < deadline, "the instance did not start"
            await asyncio.sleep(0.01)
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    before, _ = await _reminders(sessions)
    assert 0 < before < total, "the kill was meant to land mid-burst"
    jobs = CountingJobs(
        sessions=sessions,
        config=CoreConfig(),
        clock=SystemClock(),
        options=JobOptions(reminders=ReminderOptions(batch_size=50)),
    )
    runner = Scheduler(jobs, intervals=FAST, sqlite_file=sqlite_file(database_url))
    await runner.start()  # on SQLite: the dead instance's lock went with it
    try:
        await _wait_for(sessions, total)
        await asyncio.sleep(0.3)
    finally:
        await runner.stop()
    assert await _reminders(sessions) == (total, total)
    assert jobs.claimed == total - before  # it took exactly what the dead one had not sent
    assert await _unstamped(sessions) == 0
