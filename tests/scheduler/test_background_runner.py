"""The scheduler of `perezvon run` runs the import jobs by itself, one heavy job at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler_component import SchedulerComponent, import_codec
from app.settings import load_settings
from app.wiring import Container
from core.config import CoreConfig
from core.context import Actor, Ctx
from core.imports import jobs as import_jobs
from core.imports.dto import ContactTable
from scheduler.jobs import Jobs
from scheduler.runner import Intervals, Scheduler
from tests.exports.files import HEADER_RU, ROWS_RU, xlsx_bytes
from tests.fakes.clock import FakeClock
from tests.scheduler.helpers import make_user, outbox

SLOW = 60.0


async def _until(check: Callable[[], Awaitable[object]], seconds: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _queue(ctx: Ctx, name: str, tg: int = 101) -> int:
    anna = await make_user(ctx, name, role="manager", tg=tg)
    data = xlsx_bytes(HEADER_RU, ROWS_RU)
    return await import_jobs.queue_file(
        ctx, actor=Actor.of_user(anna), data=data, filename=f"{name}.xlsx", chat_id=1, locale="ru"
    )


async def test_the_running_scheduler_previews_a_queued_file_within_a_tick(
    ctx: Ctx, sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    job_id = await _queue(ctx, "Анна")
    settings = load_settings(database_url=database_url)
    container = Container.build(settings)
    component = SchedulerComponent()
    runner = component.make(container)
    assert runner.intervals.background == 1.0
    runner.intervals = Intervals(SLOW, SLOW, SLOW, SLOW, background=0.05)
    await runner.start()
    try:
        await _until(lambda: outbox(ctx, "import_preview"))
    finally:
        await component.stop()
        await container.dispose()
    (preview,) = await outbox(ctx, "import_preview")
    assert (preview.payload["job_id"], preview.payload["new"]) == (job_id, 2)


async def test_one_heavy_job_runs_at_a_time_in_a_process(
    ctx: Ctx,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
) -> None:
    for tg, name in enumerate(("Анна", "Борис", "Вера"), start=101):
        await _queue(ctx, name, tg)
    reading = 0
    most = 0
    codec = import_codec(config)

    def read(data: bytes, filename: str) -> ContactTable:
        nonlocal reading, most
        reading += 1
        most = max(most, reading)
        try:
            return codec.read(data, filename)
        finally:
            reading -= 1

    jobs = Jobs(
        sessions=sessions,
        config=config,
        clock=clock,
        import_codec=import_jobs.ImportCodec(read=read, rejected_workbook=codec.rejected_workbook),
    )
    # Two ticks at once (as two overlapping interval runs would be): the semaphore holds.
    ran = await asyncio.gather(jobs.background(), jobs.background())
    assert sum(ran) == 3 and most == 1
    assert len(await outbox(ctx, "import_preview")) == 3
    runner = Scheduler(jobs)
    assert runner.intervals.background == 1.0
