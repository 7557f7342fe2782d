"""A stored document queues `document_extract`; the scheduler's `documents` job (the one
core.documents.worker runs in production) reads it, and nothing else claims it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import CoreConfig
from core.context import Actor, Ctx
from core.documents import service
from core.documents.extract import Limits
from core.documents.models import Document
from core.documents.worker import ExtractOptions
from core.jobs.models import BackgroundJob
from scheduler.jobs import JobOptions, Jobs
from tests.fakes.clock import FakeClock


@pytest.fixture
def config(tmp_path: Path) -> CoreConfig:
    return CoreConfig(documents_dir=str(tmp_path / "documents"))


async def test_the_extraction_job_is_run_by_the_documents_job(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> None:
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        document = await service.store_document(
            ctx, actor=Actor.system(), name="заметки.txt", source="import", data=b"hello"
        )
    options = JobOptions(documents=ExtractOptions(limits=Limits(seconds=30)))
    runner = Jobs(sessions=sessions, config=config, clock=clock, options=options)
    try:
        assert await runner.background() == 0  # the imports' job leaves it alone
        assert await runner.documents() == 1
        assert await runner.documents() == 0  # done: not claimed again
    finally:
        await runner.close()
    async with sessions() as session:
        job = (await session.execute(select(BackgroundJob.kind, BackgroundJob.status))).one()
        stored = await session.get(Document, document.id)
    assert tuple(job) == (service.EXTRACT_JOB, "done")
    assert stored is not None and stored.extract_status == "done"
