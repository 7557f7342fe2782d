"""A spreadsheet sent to the bot, imported by a background job instead of in the update.

1. Queue: the handler stores the downloaded file as an `import_preview` job (a newer file of
   the same user makes the one waiting for Apply stale) and answers at once.
2. Preview: the job reads the file (CPU work, in a thread) and dry-runs it; the counts go
   to the user through the outbox with the policy, Apply and Cancel buttons. The file
   stays stored, waiting for the user's choice.
3. Choose: a policy button runs the preview again with that policy; Apply requeues the job
   as `import_apply` on the same stored bytes; Cancel drops them. Each is a conditional
   update of a finished job that still holds its file, so a stale or second tap changes
   nothing and says so.
4. Apply: the job reads the file again and applies it (batched, resumable, shared with any
   concurrent apply of the same file), then sends the outcome and the rejected rows as a
   workbook through the outbox, and drops the file.
5. Failures: a refused file gets the reason, an unexpected error a short apology (and a log
   line with the job id); the job fails and its file is dropped. A job claimed more often
   than the attempts allow (its process died each time) fails the same way.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import defer

from core.context import Actor, Ctx
from core.errors import DomainError, PermissionDenied
from core.imports import service as imports
from core.imports.dto import ContactTable
from core.jobs import service as jobs
from core.jobs.models import BackgroundJob
from core.jobs.service import Claimed
from core.outbox import service as outbox
from core.users.models import User

log = logging.getLogger(__name__)

PREVIEW = "import_preview"
APPLY = "import_apply"
KINDS = (PREVIEW, APPLY)


@dataclass(frozen=True)
class ImportCodec:
    """The spreadsheet codec the jobs use (the `exports` package, wired by app/).

    `read(data, filename)` raises InvalidInput(field="file") for a file it refuses;
    `rejected_workbook(table, rejected_rows, locale)` builds the rejected rows' workbook.
    """

    read: Callable[[bytes, str], ContactTable]
    rejected_workbook: Callable[[ContactTable, list[tuple[int, str]], str], bytes]


@dataclass(frozen=True)
class ImportJobOptions:
    """How the import jobs run (built by the composition root)."""

    max_attempts: int = jobs.MAX_ATTEMPTS
    claim_seconds: int = jobs.CLAIM_SECONDS


def _run_id() -> str:
    """Names one step of a file's job (preview, another preview, apply) for the outbox's
    dedupe key: each step's messages go out once, and never collide with another step's."""
    return secrets.token_hex(8)


def _importer(actor: Actor) -> int:
    if not actor.sees_all or actor.user_id is None:
        raise PermissionDenied(
            "importing contacts is for managers and admins", code="import-manager-only"
        )
    return actor.user_id


async def queue_file(
    ctx: Ctx, *, actor: Actor, data: bytes, filename: str, chat_id: int, locale: str
) -> int:
    """Store a sent file as a preview job and commit; returns the job's id."""
    user_id = _importer(actor)
    # One file waits for Apply per user: the buttons of an older preview go stale.
    await jobs.drop_data(ctx, job_id=None, user_id=user_id, from_kinds=KINDS)
    payload = {"filename": filename[:255], "policy": "skip", "locale": locale, "run": _run_id()}
    job = await jobs.enqueue(
        ctx, kind=PREVIEW, payload=payload, data=data, user_id=user_id, chat_id=chat_id
    )
    await ctx.session.commit()
    return job.id


async def _next_step(ctx: Ctx, actor: Actor, job_id: int, kind: str, policy: str) -> str | None:
    """Requeue a previewed file as `kind` with `policy`; its name, or None when stale."""
    user_id = _importer(actor)
    if policy not in imports.POLICIES:
        return None
    job = await ctx.session.get(BackgroundJob, job_id, options=[defer(BackgroundJob.data)])
    if job is None or job.user_id != user_id:
        return None
    payload = {**job.payload, "policy": policy, "run": _run_id()}
    requeued = await jobs.requeue(
        ctx, job_id=job_id, user_id=user_id, from_kinds=(PREVIEW,), kind=kind, payload=payload
    )
    await ctx.session.commit()
    return str(payload.get("filename") or "") if requeued else None


async def choose_policy(ctx: Ctx, *, actor: Actor, job_id: int, policy: str) -> str | None:
    """Preview the file again with another policy; its name, or None when the buttons are stale."""
    return await _next_step(ctx, actor, job_id, PREVIEW, policy)


async def apply_file(ctx: Ctx, *, actor: Actor, job_id: int, policy: str) -> str | None:
    """Queue the import of a previewed file; its name, or None when stale (a second tap)."""
    return await _next_step(ctx, actor, job_id, APPLY, policy)


async def cancel_file(ctx: Ctx, *, actor: Actor, job_id: int) -> bool:
    """Forget a previewed file; False when the buttons are stale."""
    user_id = _importer(actor)
    dropped = await jobs.drop_data(ctx, job_id=job_id, user_id=user_id, from_kinds=(PREVIEW,))
    await ctx.session.commit()
    return dropped


async def run_claimed(
    ctx: Ctx, *, job: Claimed, codec: ImportCodec, options: ImportJobOptions
) -> str:
    """Run one claimed import job to its end and tell its user; returns the outcome (logs)."""
    try:
        if job.attempts > options.max_attempts:
            raise _GaveUp(f"stopped during each of {options.max_attempts} attempts")
        return await _run(ctx, job, codec)
    except _Refused as refused:
        await _failed(ctx, job, "import_refused", str(refused), reason=refused.reason)
        return "refused"
    except Exception as exc:
        log.exception("background job %s (%s) failed", job.id, job.kind)
        await _failed(ctx, job, "import_failed", f"{type(exc).__name__}: {exc}")
        return "failed"


class _GaveUp(Exception):
    """The job was claimed more often than the attempts allow."""


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _run(ctx: Ctx, job: Claimed, codec: ImportCodec) -> str:
    user = await ctx.session.get(User, job.user_id) if job.user_id is not None else None
    if user is None or not user.active:
        await jobs.fail(ctx, job_id=job.id, error="the user who sent the file is gone")
        await ctx.session.commit()
        return "user gone"
    actor = Actor.of_user(user)
    payload = job.payload
    filename, policy = str(payload.get("filename") or ""), str(payload.get("policy") or "skip")
    data = await jobs.stored_data(ctx, job_id=job.id)
    if data is None:
        raise _Refused("the file is no longer stored")
    try:
        table = await asyncio.to_thread(codec.read, data, filename)
        report = await imports.run_import(
            ctx,
            actor=actor,
            table=table,
            file_hash=imports.content_hash(data),
            policy=policy,
            apply=job.kind == APPLY,
            filename=filename,
            batch_size=ctx.config.import_batch_size,
        )
    except DomainError as error:  # a refused file, or rows clashing with changes meanwhile
        raise _Refused(error.message) from error
    del data  # the file is not needed any more; the table is, for the rejected rows
    counts = _counts(report)
    if job.kind == PREVIEW:
        await _tell(ctx, job, PREVIEW, {**counts, "job_id": job.id, "policy": policy})
        await jobs.finish(ctx, job_id=job.id, result=counts, keep_data=True)
    else:
        await _tell(ctx, job, "import_done", {**counts, "already_done": report.already_done})
        if report.listed_rows():
            locale = str(payload.get("locale") or "ru")
            content = await asyncio.to_thread(
                codec.rejected_workbook, table, report.listed_rows(), locale
            )
            await _tell(ctx, job, "import_rejected", _rejected_document(content, report))
        await jobs.finish(ctx, job_id=job.id, result={**counts, "import_job_id": report.job_id})
    await ctx.session.commit()
    return f"{job.kind} done: {counts}"


def _counts(report: imports.ImportReport) -> dict[str, Any]:
    return {
        "total": report.total,
        "new": report.new,
        "updated": report.updated,
        "duplicate": report.duplicate,
        "rejected": report.rejected,
        "unchanged": report.unchanged,
        # the first updates, for the preview to name them: (row, contact ID, fields)
        "changes": [[row, cid, fields] for row, cid, fields in report.changes[:10]],
    }


def _rejected_document(content: bytes, report: imports.ImportReport) -> dict[str, Any]:
    return {
        "content_b64": base64.b64encode(content).decode("ascii"),
        "filename": "rejected.xlsx",
        "caption_key": "import-rejected-file",
        "caption_args": {"count": len(report.listed_rows())},
    }


async def _tell(ctx: Ctx, job: Claimed, kind: str, payload: dict[str, Any]) -> None:
    """A message about this job to its user, in the job's commit; once per run of the job."""
    run = str(job.payload.get("run") or "")
    await outbox.enqueue(
        ctx,
        kind=kind,
        dedupe_key=f"job:{job.id}:{run}:{kind}",
        payload={"filename": str(job.payload.get("filename") or ""), **payload},
        user_id=job.user_id,
        chat_id=job.chat_id,
    )


async def _failed(ctx: Ctx, job: Claimed, kind: str, error: str, **extra: Any) -> None:
    """Mark the job failed and tell its user, after whatever the failure left half done."""
    await ctx.session.rollback()
    await jobs.fail(ctx, job_id=job.id, error=error)
    if job.user_id is not None or job.chat_id is not None:
        await _tell(ctx, job, kind, {"job_id": job.id, **extra})
    await ctx.session.commit()
