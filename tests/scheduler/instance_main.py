"""A scheduler instance in its own process, for the kill-and-restart test.

python -m tests.scheduler.instance_main DATABASE_URL BATCH_SIZE
Runs reminders one small batch at a time with a pause between, so a kill lands mid-burst.
"""

from __future__ import annotations

import asyncio
import sys

from core.activities.reminders import ReminderOptions
from core.clock import SystemClock
from core.config import CoreConfig
from core.db import create_engine, session_factory, sqlite_file
from scheduler.jobs import JobOptions
from scheduler.runner import Intervals, Scheduler
from tests.scheduler.concurrency import CountingJobs


async def main(url: str, batch_size: int) -> None:
    engine = create_engine(url)
    jobs = CountingJobs(
        sessions=session_factory(engine),
        config=CoreConfig(),
        clock=SystemClock(),
        options=JobOptions(reminders=ReminderOptions(batch_size=batch_size)),
        pause=0.02,
    )
    runner = Scheduler(jobs, intervals=Intervals(reminders=0.05), sqlite_file=sqlite_file(url))
    await runner.start()
    print("started", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
