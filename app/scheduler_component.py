"""The scheduler as a component of `perezvon run`: settings -> jobs -> `Scheduler`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI

from app.settings import Settings
from app.wiring import Container
from core.db import sqlite_file
from core.services.digests import DigestBuilder, DigestOptions
from core.services.greetings import GreetingOptions, parse_holidays
from core.services.housekeeping import HousekeepingOptions
from core.services.reminders import ReminderOptions
from scheduler.jobs import JobOptions, Jobs
from scheduler.runner import Intervals, Scheduler, SchedulerError
from telephony_webhooks.app import Lifespan

__all__ = ["SchedulerComponent", "SchedulerError", "beside_web", "run_alone"]


def job_options(settings: Settings, *, expire_ringing: bool) -> JobOptions:
    return JobOptions(
        reminders=ReminderOptions(
            late_after=timedelta(seconds=settings.reminders_late_after_seconds),
            on_duty_manager_id=settings.on_duty_manager_id,
        ),
        greetings=GreetingOptions(
            local_hour=settings.greetings_local_hour,
            holidays=parse_holidays(settings.greetings_holidays),
        ),
        digests=DigestOptions(max_attempts=settings.digests_max_attempts),
        housekeeping=HousekeepingOptions(
            inbox_retention=timedelta(days=settings.inbox_retention_days),
            outbox_retry_every=timedelta(minutes=settings.outbox_retry_failed_minutes),
            invite_grace=timedelta(days=settings.invite_grace_days),
        ),
        expire_ringing=expire_ringing,
    )


def intervals(settings: Settings) -> Intervals:
    return Intervals(
        reminders=settings.reminders_interval_seconds,
        greetings=settings.greetings_interval_seconds,
        digests=settings.digests_interval_seconds,
        housekeeping=settings.housekeeping_interval_seconds,
    )


def digest_builder() -> DigestBuilder | None:
    """The digest workbook builder, or None (digests wait until one is wired).

    MERGE HOOK: the Excel branch provides it; the lead wires it here as
    `core.services.reports.digest(...)` -> `exports.digest.build_workbook(...)` (bytes) and
    `exports.digest.summary_text(...)` (the caption), with a filename like
    `digest-<first day>.xlsx`.
    """
    return None


class SchedulerComponent:
    """Start/stop the scheduler inside `perezvon run` (alone or beside the web app)."""

    def __init__(
        self,
        container: Container,
        *,
        expire_ringing: bool = True,
        build_digest: DigestBuilder | None = None,
    ) -> None:
        settings = container.settings
        jobs = Jobs(
            sessions=container.sessions,
            config=container.config,
            clock=container.clock,
            options=job_options(settings, expire_ringing=expire_ringing),
            build_digest=build_digest or digest_builder(),
        )
        self.scheduler = Scheduler(
            jobs, intervals=intervals(settings), sqlite_file=sqlite_file(settings.database_url)
        )

    async def start(self) -> None:
        await self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        """A lifespan hook for the web app: the scheduler runs while the app serves."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()


def beside_web(container: Container) -> Lifespan:
    """The scheduler as a lifespan hook of the web app (`perezvon run`); the SQLite
    single-instance rule is checked now, so a second instance fails with a clear line."""
    # The inbox processor of this process expires stale ringing calls when it runs.
    component = SchedulerComponent(container, expire_ringing=not container.settings.process_inbox)
    component.scheduler.claim_database()
    return component.lifespan


def run_alone(container: Container) -> int:
    """`perezvon run --components scheduler` (no web app): run until SIGINT/SIGTERM."""
    asyncio.run(_run_until_signal(container))
    return 0


async def _run_until_signal(container: Container) -> None:
    component = SchedulerComponent(container)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await component.start()
        print("Perezvon scheduler running (Ctrl+C stops it)", flush=True)
        await stopping.wait()
    finally:
        await component.stop()
        await container.dispose()
