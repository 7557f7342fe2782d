"""The scheduler as a component of `perezvon run`: settings -> jobs -> `Scheduler`."""

from __future__ import annotations

import logging
from datetime import timedelta

from app.components import Component
from app.digests import build_digest
from app.settings import Settings
from app.wiring import Container
from core.activities.reminders import ReminderOptions
from core.config import CoreConfig
from core.db import sqlite_file
from core.greetings.service import GreetingOptions, parse_holidays
from core.housekeeping import HousekeepingOptions
from core.imports.jobs import ImportCodec
from core.reports.digests import DigestBuilder, DigestOptions
from exports.contacts_export import rejected_workbook
from exports.contacts_import import Limits, read_contacts
from scheduler.jobs import JobOptions, Jobs
from scheduler.runner import Intervals, Scheduler, SchedulerError

__all__ = ["SchedulerComponent", "SchedulerError"]

log = logging.getLogger(__name__)
# Reminders falling due within this share of the reminders interval after a tick are sent as
# they fall due (scheduler.jobs.Jobs.reminders); the rest wait at most the other half for the
# next tick. bench/reminders.py, 3,000 in 20 s on SQLite: lateness p50 0.55 -> 0.16 s, p99
# 1.15 -> 0.67 s.
LOOK_AHEAD_SHARE = 0.5


def job_options(settings: Settings, *, expire_ringing: bool) -> JobOptions:
    return JobOptions(
        reminders=ReminderOptions(
            late_after=timedelta(seconds=settings.reminders_late_after_seconds),
            on_duty_manager_id=settings.on_duty_manager_id,
            # Half the interval: the tick ends well before the next one is due (a tick that
            # is still running then is skipped by APScheduler, and its reminders wait a tick).
            look_ahead=timedelta(seconds=settings.reminders_interval_seconds * LOOK_AHEAD_SHARE),
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


def digest_builder(container: Container) -> DigestBuilder:
    """The digest workbook builder: core's figures in the `exports` workbook (app/digests.py)."""
    return build_digest


def import_codec(config: CoreConfig) -> ImportCodec:
    """The `exports` spreadsheet codec for the import jobs, with the configured limits."""
    limits = Limits(max_bytes=config.import_max_bytes, max_rows=config.import_max_rows)
    return ImportCodec(
        read=lambda data, filename: read_contacts(data, filename, limits=limits),
        rejected_workbook=lambda table, rows, locale: rejected_workbook(table, rows, locale=locale),
    )


class SchedulerComponent(Component):
    """The scheduler inside `perezvon run` (registered in app/components.py).

    Ringing calls left open are expired here only when this process does not run the inbox
    processor (which expires them as it applies events).
    """

    name = "scheduler"

    def __init__(self, *, build_digest: DigestBuilder | None = None) -> None:
        self.build_digest = build_digest
        self.scheduler: Scheduler | None = None

    def _new(self, container: Container, *, expire_ringing: bool | None) -> Scheduler:
        settings = container.settings
        if expire_ringing is None:
            expire_ringing = not settings.process_inbox
        jobs = Jobs(
            sessions=container.sessions,
            config=container.config,
            clock=container.clock,
            options=job_options(settings, expire_ringing=expire_ringing),
            build_digest=self.build_digest or digest_builder(container),
            import_codec=import_codec(container.config),
        )
        return Scheduler(
            jobs, intervals=intervals(settings), sqlite_file=sqlite_file(settings.database_url)
        )

    def make(self, container: Container, *, expire_ringing: bool | None = None) -> Scheduler:
        """The scheduler over this container's database (made once; `start` runs it)."""
        if self.scheduler is None:
            self.scheduler = self._new(container, expire_ringing=expire_ringing)
        return self.scheduler

    async def start(self, container: Container) -> None:
        await self.make(container).start()
        # A log line, not stdout: it follows LOG_LEVEL and the log format like every other.
        log.info("Perezvon scheduler running")

    async def stop(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
            self.scheduler = None

    def readiness(self) -> str:
        """ "ok" while its jobs are scheduled; "starting" before, "stopped" after."""
        if self.scheduler is None:
            return "stopped"
        return "ok" if self.scheduler.running else "starting"
