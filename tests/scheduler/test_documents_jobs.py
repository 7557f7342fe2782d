"""A stored document queues `document_extract`; the scheduler's background job hands it to
the handler registered for that kind (the extraction package registers the real one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FakeClock
from core.config import CoreConfig
from core.context import Actor, Ctx
from core.documents import service
from core.jobs import service as jobs
from core.jobs.models import BackgroundJob
from scheduler.jobs import Jobs


@pytest.fixture
def config(tmp_path: Path) -> CoreConfig:
    return CoreConfig(documents_dir=str(tmp_path / "documents"))


async def test_the_extraction_job_reaches_its_registered_handler(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> None:
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        document = await service.store_document(
            ctx, actor=Actor.system(), name="a.pdf", source="import", data=b"%PDF-1.4 x"
        )
    seen: list[int] = []

    async def extract(ctx: Ctx, *, job: jobs.Claimed) -> None:
        seen.append(int(job.payload["document_id"]))
        await jobs.finish(ctx, job_id=job.id, result={"read": True})
        await ctx.session.commit()

    runner = Jobs(
        sessions=sessions,
        config=config,
        clock=clock,
        job_handlers={service.EXTRACT_JOB: extract},
    )
    assert await runner.background() == 1
    assert seen == [document.id]
    assert await runner.background() == 0  # done: not claimed again
    async with sessions() as session:
        status = await session.scalar(select(BackgroundJob.status))
    assert status == "done"


async def test_without_a_handler_the_job_waits(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> None:
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        await service.store_document(
            ctx, actor=Actor.system(), name="a.pdf", source="import", data=b"%PDF-1.4 x"
        )
    assert await Jobs(sessions=sessions, config=config, clock=clock).background() == 0
    async with sessions() as session:
        assert await session.scalar(select(BackgroundJob.status)) == "queued"
