"""The scheduler's jobs: each opens its own session(s) and calls one core service.

Every job reads database state, so a tick that was skipped or failed loses nothing: the
next tick sees the same due rows. Jobs return what they did, for logs and tests.

Heavy jobs (imports sent to the bot: `background`; document extraction: `documents`,
core.documents.worker) run one at a time in this process (a semaphore bounds the memory
of the files being read); the imports' CPU work in a thread, extraction's in its child.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import housekeeping
from core.activities import reminders
from core.activities.reminders import ReminderOptions
from core.calls import service as calls
from core.clock import Clock
from core.config import CoreConfig
from core.context import Ctx
from core.conversations import sla
from core.db import session_scope
from core.documents import worker as document_worker
from core.documents.extract_process import ExtractorProcess
from core.greetings import service as greetings
from core.greetings.service import GreetingOptions
from core.housekeeping import HousekeepingOptions
from core.imports import jobs as import_jobs
from core.imports.jobs import ImportCodec, ImportJobOptions
from core.jobs import service as jobs
from core.reports import digests
from core.reports.digests import DigestBuilder, DigestOptions

T = TypeVar("T")


# pg_try_advisory_lock key of the housekeeping job: one instance at a time runs it.
HOUSEKEEPING_LOCK = 0x50_5A_48_4B  # "PZHK"
MAX_REMINDER_BATCHES = 40  # per tick; a bigger backlog carries on at the next tick
MAX_BACKGROUND_JOBS = 20  # per tick; more carry on at the next tick


@dataclass(frozen=True)
class JobOptions:
    """What the jobs do; the intervals live in `scheduler.runner.Intervals`."""

    reminders: ReminderOptions = field(default_factory=ReminderOptions)
    greetings: GreetingOptions = field(default_factory=GreetingOptions)
    digests: DigestOptions = field(default_factory=DigestOptions)
    housekeeping: HousekeepingOptions = field(default_factory=HousekeepingOptions)
    imports: ImportJobOptions = field(default_factory=ImportJobOptions)
    # False while this process's inbox processor already expires stale ringing calls.
    expire_ringing: bool = True
    documents: document_worker.ExtractOptions = field(
        default_factory=document_worker.ExtractOptions
    )


class Jobs:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        config: CoreConfig,
        clock: Clock,
        options: JobOptions | None = None,
        build_digest: DigestBuilder | None = None,
        import_codec: ImportCodec | None = None,
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._clock = clock
        self.options = options or JobOptions()
        self._build_digest = build_digest
        self._import_codec = import_codec
        self._heavy = asyncio.Semaphore(1)  # one heavy job at a time in this process
        self._extractor: ExtractorProcess | None = None  # started at the first document

    async def _run(self, use_case: Callable[[Ctx], Awaitable[T]]) -> T:
        async with session_scope(self._sessions) as session:
            return await use_case(Ctx(session=session, config=self._config, clock=self._clock))

    async def reminders(self) -> int:
        """Open the due "reply to the client" tasks, send every due reminder (in batches),
        then escalate overdue callbacks and reply tasks; then send the reminders that fall
        due within `ReminderOptions.look_ahead` as each falls due."""
        options = self.options.reminders
        look_until = asyncio.get_running_loop().time() + options.look_ahead.total_seconds()
        await self._run(lambda ctx: sla.open_due_reply_tasks(ctx))
        total = await self._send_due_reminders()
        await self._run(lambda ctx: reminders.escalate_overdue_callbacks(ctx, options=options))
        await self._run(
            lambda ctx: reminders.escalate_overdue_callbacks(ctx, options=options, kind=sla.REPLY)
        )
        return total + await self._reminders_falling_due(look_until)

    async def _send_due_reminders(self) -> int:
        options = self.options.reminders
        total = 0
        for _ in range(MAX_REMINDER_BATCHES):
            claimed = await self._run(lambda ctx: reminders.send_due(ctx, options=options))
            total += claimed
            if claimed < options.batch_size:
                break
        return total

    async def _reminders_falling_due(self, look_until: float) -> int:
        """Until `look_until` (loop time), wait for the next reminder to fall due and send it
        then: a reminder is at most a few milliseconds late instead of up to an interval.
        The tick itself stays the safety net (another instance, a clock jump, a reminder
        added meanwhile with an earlier time is seen at the next wait or tick)."""
        loop = asyncio.get_running_loop()
        total = 0
        while (left := look_until - loop.time()) > 0:
            until = self._clock.now() + timedelta(seconds=left)
            due_at = await self._run(functools.partial(reminders.next_due_at, until=until))
            if due_at is None:
                break
            wait = (due_at - self._clock.now()).total_seconds()
            if wait > 0:
                if wait >= look_until - loop.time():
                    break
                await asyncio.sleep(wait)
            sent = await self._send_due_reminders()
            total += sent
            if sent == 0 and wait <= 0:
                break  # due by this clock yet not claimable: leave it to the next tick
        return total

    async def greetings(self) -> int:
        options = self.options.greetings
        return await self._run(lambda ctx: greetings.send_due(ctx, options=options))

    async def digests(self) -> int:
        """Send the digests owed now; none while no builder is wired (nothing is claimed)."""
        options = self.options.digests
        build = self._build_digest
        if build is None:
            return 0
        return await self._run(lambda ctx: digests.send_due(ctx, build=build, options=options))

    async def background(self) -> int:
        """Run the due imports sent to the bot (when a codec is wired), one at a time.
        Document extraction has its own job (`documents`)."""
        codec, options = self._import_codec, self.options.imports
        if codec is None:
            return 0
        ran = 0
        for _ in range(MAX_BACKGROUND_JOBS):
            async with self._heavy:
                claimed = await self._run(
                    lambda ctx: jobs.claim(
                        ctx, kinds=import_jobs.KINDS, claim_seconds=options.claim_seconds
                    )
                )
                if not claimed:
                    break
                run = functools.partial(
                    import_jobs.run_claimed, job=claimed[0], codec=codec, options=options
                )
                await self._run(run)
            ran += 1
        return ran

    async def documents(self) -> int:
        """Read and index the text of stored documents, one at a time, each in the
        extraction child (time and memory limits per file); jobs are leased a few at once."""
        options = self.options.documents
        ran = 0
        while ran < MAX_BACKGROUND_JOBS:
            async with self._heavy:
                limit = min(options.batch, MAX_BACKGROUND_JOBS - ran)
                claimed = await self._run(
                    functools.partial(document_worker.claim_batch, options=options, limit=limit)
                )
                if not claimed:
                    break
                if self._extractor is None:
                    self._extractor = ExtractorProcess(options.limits)
                run = functools.partial(
                    document_worker.run_batch,
                    claimed=claimed,
                    extractor=self._extractor,
                    options=options,
                )
                await self._run(run)
                ran += len(claimed)
        return ran

    async def close(self) -> None:
        """Stop the extraction child, if one was started."""
        extractor, self._extractor = self._extractor, None
        if extractor is not None:
            await extractor.close()

    async def housekeeping(self) -> dict[str, int]:
        """The clean-ups, under an advisory lock on PostgreSQL (one instance at a time)."""
        async with session_scope(self._sessions) as lock_session:
            postgres = lock_session.bind.dialect.name == "postgresql"
            if postgres and not await lock_session.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": HOUSEKEEPING_LOCK}
            ):
                return {}
            try:
                return await self._housekeeping()
            finally:
                if postgres:
                    await lock_session.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": HOUSEKEEPING_LOCK}
                    )
                    await lock_session.commit()

    async def _housekeeping(self) -> dict[str, int]:
        options = self.options.housekeeping
        done: dict[str, int] = {}
        if self.options.expire_ringing:
            done["stale_calls"] = await self._run(calls.expire_stale_ringing)
        done["inbox_purged"] = await self._run(
            lambda ctx: housekeeping.purge_inbox(ctx, options=options)
        )
        done["outbox_retried"] = await self._run(
            lambda ctx: housekeeping.retry_failed_outbox(ctx, options=options)
        )
        done["invites_purged"] = await self._run(
            lambda ctx: housekeeping.purge_expired_invites(ctx, options=options)
        )
        done["telegram_updates_purged"] = await self._run(housekeeping.purge_telegram_updates)
        done["jobs_purged"] = await self._run(housekeeping.purge_finished_jobs)
        return done
