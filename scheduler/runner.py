"""`Scheduler`: APScheduler 3 interval jobs over the database state, with start and stop.

1. Nothing is stored in APScheduler: reminders, greetings and digests are rows, picked up
   by a few interval jobs (a job store must never be shared between schedulers, and a
   million planned activities must not be a million jobs). Any number of instances may
   run on PostgreSQL: the services claim with SKIP LOCKED, unique rows and advisory locks.
2. On SQLite one scheduler per database is assumed; `start` checks it with an exclusive
   lock on a file next to the database, which the OS drops when the process dies.
3. Every job runs once at start (reminders that fell due while down go out at once,
   marked late) and then on its interval. A job that raises is logged and runs again at
   its next tick; it never stops the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.telemetry import telemetry
from scheduler.jobs import Jobs

log = logging.getLogger(__name__)
# APScheduler logs every run at INFO and every tick skipped behind a long run (max_instances=1,
# by design here) as a WARNING; our own log says what each run did and what failed.
logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)


class SchedulerError(Exception):
    """The scheduler cannot start (another one holds this SQLite database)."""


@dataclass(frozen=True)
class Intervals:
    """Seconds between two runs of each job."""

    reminders: float = 1.0  # an idle tick is one indexed read; p99 lateness ~ the interval
    greetings: float = 60.0
    digests: float = 60.0
    housekeeping: float = 600.0
    background: float = 1.0  # imports sent to the bot: the user waits for the answer
    documents: float = 2.0  # text extraction of stored documents (search finds them after)


class SingleInstanceLock:
    """An exclusive, non-blocking flock on `<database>.scheduler.lock` (SQLite only)."""

    def __init__(self, database_file: str) -> None:
        self.path = f"{database_file}.scheduler.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        if self._file is not None:
            return  # held already (checked before start)
        handle = open(self.path, "a+")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise SchedulerError(
                f"a scheduler is already running on this SQLite database ({holder}); SQLite "
                "takes one: stop it, or use PostgreSQL to run several"
            ) from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class Scheduler:
    def __init__(
        self,
        jobs: Jobs,
        *,
        intervals: Intervals | None = None,
        sqlite_file: str | None = None,
        stop_grace_seconds: float = 10.0,
    ) -> None:
        self.jobs = jobs
        self.intervals = intervals or Intervals()
        self._lock = SingleInstanceLock(sqlite_file) if sqlite_file else None
        self._stop_grace = stop_grace_seconds
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[Any]] = set()
        self.runs: dict[str, int] = {}
        self.failures: dict[str, int] = {}

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def claim_database(self) -> None:
        """Check the single-instance rule now (SQLite); raises SchedulerError. Idempotent."""
        if self._lock is not None:
            self._lock.acquire()

    async def start(self) -> None:
        """Check the single-instance rule (SQLite), then run every job now and on its interval."""
        if self._scheduler is not None:
            return
        self.claim_database()
        # UTC explicitly: APScheduler 3 otherwise asks tzlocal, and interval triggers need none.
        scheduler = AsyncIOScheduler(timezone=UTC, event_loop=asyncio.get_running_loop())
        now = datetime.now(UTC)
        plan: dict[str, tuple[float, Callable[[], Awaitable[object]]]] = {
            "reminders": (self.intervals.reminders, self.jobs.reminders),
            "greetings": (self.intervals.greetings, self.jobs.greetings),
            "digests": (self.intervals.digests, self.jobs.digests),
            "housekeeping": (self.intervals.housekeeping, self.jobs.housekeeping),
            "background": (self.intervals.background, self.jobs.background),
            "documents": (self.intervals.documents, self.jobs.documents),
        }
        for name, (seconds, job) in plan.items():
            scheduler.add_job(
                self._guarded,
                "interval",
                seconds=seconds,
                args=(name, job),
                id=name,
                next_run_time=now,  # at once: what fell due while we were down goes out now
                max_instances=1,  # a slow run is never overlapped by the next tick
                # The jobs read database state, so one late run catches up on everything:
                # run a late tick however late (APScheduler's default grace of 1 s would drop
                # ticks whenever the loop is busy) but only once for a backlog (coalesce).
                misfire_grace_time=None,
                coalesce=True,
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started: %s", self.intervals)

    async def _guarded(self, name: str, job: Callable[[], Awaitable[object]]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        started = time.monotonic()
        try:
            result = await job()
            self.runs[name] = self.runs.get(name, 0) + 1
            telemetry().job_ran(name, failed=False, seconds=time.monotonic() - started)
            if result:
                log.info("%s: %s", name, result)
        except asyncio.CancelledError:
            raise
        except Exception:  # logged; the next tick runs the job again
            self.failures[name] = self.failures.get(name, 0) + 1
            telemetry().job_ran(name, failed=True, seconds=time.monotonic() - started)
            log.exception("scheduler job %s failed; it runs again at its next tick", name)
        finally:
            if task is not None:
                self._running.discard(task)

    async def stop(self) -> None:
        """No new runs; wait a little for the running ones, then shut down."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            if self._lock is not None:
                self._lock.release()  # claimed but never started
            return
        scheduler.pause()
        running = set(self._running)
        if running:
            _done, pending = await asyncio.wait(running, timeout=self._stop_grace)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        scheduler.shutdown(wait=False)
        await self.jobs.close()  # the document extraction child, if any
        if self._lock is not None:
            self._lock.release()
        log.info("scheduler stopped")
