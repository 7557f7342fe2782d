"""The `document_extract` background job: read a stored file's text and index it.

1. Claim: due extraction jobs are leased one at a time (core.services.jobs).
2. Read: the bytes come through storage; the session's transaction ends before extraction,
   so a slow file holds no lock or snapshot.
3. Extract in the child process (core.documents.extract_process): time and memory limits
   per file; a bomb or a crash ends the child and the file gets its reason.
4. Store: status, reason, pages, the text and its words (core.documents.index) and the job
   finished, in one commit. A document deleted meanwhile is skipped. A job claimed more
   than `max_attempts` times (the scheduler itself died on it each time) is recorded
   failed and not tried again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from core.context import Ctx
from core.documents import index, storage
from core.documents.extract import FAILED, Extracted, Limits
from core.documents.extract_process import ExtractorProcess
from core.documents.service import EXTRACT_JOB
from core.models.documents import Document
from core.services import jobs
from core.services.jobs import Claimed

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
    document_id = int(job.payload.get("document_id", 0))
    document = await ctx.session.get(Document, document_id)
    if document is None or document.deleted_at is not None:
        await jobs.finish(ctx, job_id=job.id, result={"skipped": "gone"})
        await ctx.session.commit()
        return {"document_id": document_id, "status": "gone"}
    if job.attempts > options.max_attempts:
        reason = f"crashed: the worker stopped on this file {job.attempts - 1} times"
        await index.store(ctx, document, Extracted(FAILED, document.kind, error=reason))
        await jobs.fail(ctx, job_id=job.id, error=reason)
        await ctx.session.commit()
        return {"document_id": document_id, "status": FAILED}
    name, sha256 = document.file_name, document.sha256
    data = await storage.read_all(ctx, sha256)
    await ctx.session.commit()  # no transaction stays open while the child reads
    result = await extractor.extract(data, name)
    del data
    document = await ctx.session.get(Document, document_id, populate_existing=True)
    if document is None or document.deleted_at is not None:
        await jobs.finish(ctx, job_id=job.id, result={"skipped": "gone"})
        await ctx.session.commit()
        return {"document_id": document_id, "status": "gone"}
    await index.store(ctx, document, result)
    await jobs.finish(ctx, job_id=job.id, result={"status": result.status})
    await ctx.session.commit()
    if result.status == FAILED:
        log.info("document %s not read: %s", document_id, result.error)
    return {"document_id": document_id, "status": result.status}
