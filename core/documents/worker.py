"""The `document_extract` background job: read a stored file's text and index it.

1. Claim: due extraction jobs are leased a few at a time (`batch`, core.jobs.service).
2. Read: the bytes come through storage; the session's transaction ends before extraction,
   so a slow file holds no lock or snapshot.
3. Extract in the child process (core.documents.extract_process): time and memory limits
   per file; a bomb or a crash ends the child and the file gets its reason.
4. Store: status, reason, pages, the text and its words (core.documents.index) and the jobs
   finished, in one short commit for the batch leased together (SQLite commits are
   fsynced: one per batch, not two per file). A document deleted meanwhile is skipped.
   A job claimed more than `max_attempts` times (the scheduler itself died during its
   batch each time; the child's crashes do not count) is recorded failed, not retried.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from core.context import Ctx
from core.documents import index, storage
from core.documents.extract import FAILED, Extracted, Limits
from core.documents.extract_process import ExtractorProcess
from core.documents.models import Document
from core.documents.service import EXTRACT_JOB
from core.jobs import service as jobs
from core.jobs.service import Claimed

log = logging.getLogger(__name__)

KINDS = (EXTRACT_JOB,)


@dataclass(frozen=True)
class ExtractOptions:
    max_attempts: int = jobs.MAX_ATTEMPTS
    claim_seconds: int = 300  # at least one file's time limit a claimed file, plus slack
    limits: Limits = field(default_factory=Limits)
    batch: int = 8  # jobs leased in one commit (each is still finished in its own)


async def claim(ctx: Ctx, options: ExtractOptions) -> Claimed | None:
    claimed = await claim_batch(ctx, options, 1)
    return claimed[0] if claimed else None


async def claim_batch(ctx: Ctx, options: ExtractOptions, limit: int) -> list[Claimed]:
    """Lease up to `limit` due jobs at once, for long enough to read them all."""
    seconds = max(options.claim_seconds, int(limit * options.limits.seconds) + 60)
    return await jobs.claim(ctx, kinds=KINDS, limit=limit, claim_seconds=seconds)


async def run_claimed(
    ctx: Ctx, *, job: Claimed, extractor: ExtractorProcess, options: ExtractOptions
) -> dict[str, Any]:
    """Extract and index one claimed job's document; commits."""
    done = await run_batch(ctx, claimed=[job], extractor=extractor, options=options)
    return done[0]


async def run_batch(
    ctx: Ctx, *, claimed: list[Claimed], extractor: ExtractorProcess, options: ExtractOptions
) -> list[dict[str, Any]]:
    """Extract the claimed jobs' documents one by one (no transaction open meanwhile), then
    store every outcome and finish the jobs in one short commit. A crash before it loses
    only this batch's work: its jobs are claimed again when their lease runs out."""
    outcomes: list[tuple[Claimed, int, Extracted | None]] = []
    for job in claimed:
        document_id = int(job.payload.get("document_id", 0))
        outcomes.append((job, document_id, await _read(ctx, job, document_id, extractor, options)))
    done: list[dict[str, Any]] = []
    for job, document_id, result in outcomes:
        done.append(await _store(ctx, job, document_id, result))
    await ctx.session.commit()
    return done


async def _read(
    ctx: Ctx, job: Claimed, document_id: int, extractor: ExtractorProcess, options: ExtractOptions
) -> Extracted | None:
    """The extraction's outcome, or None when the document is gone."""
    document = await ctx.session.get(Document, document_id)
    if document is None or document.deleted_at is not None:
        await ctx.session.commit()
        return None
    if job.attempts > options.max_attempts:
        reason = f"crashed: the worker stopped on this file {job.attempts - 1} times"
        await ctx.session.commit()
        return Extracted(FAILED, document.kind, error=reason, extra={"give_up": True})
    name, sha256 = document.file_name, document.sha256
    data = await storage.read_all(ctx, sha256)
    await ctx.session.commit()  # no transaction stays open while the child reads
    result = await extractor.extract(data, name)
    if result.status == FAILED:
        log.info("document %s not read: %s", document_id, result.error)
    return result


async def _store(
    ctx: Ctx, job: Claimed, document_id: int, result: Extracted | None
) -> dict[str, Any]:
    document = await ctx.session.get(Document, document_id, populate_existing=True)
    if result is None or document is None or document.deleted_at is not None:
        await jobs.finish(ctx, job_id=job.id, result={"skipped": "gone"})
        return {"document_id": document_id, "status": "gone"}
    await index.store(ctx, document, result)
    if result.extra.get("give_up"):
        await jobs.fail(ctx, job_id=job.id, error=str(result.error))
    else:
        await jobs.finish(ctx, job_id=job.id, result={"status": result.status})
    return {"document_id": document_id, "status": result.status}
