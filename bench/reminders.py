"""Reminder lateness and drain rate through the real scheduler (prints figures).

    python bench/reminders.py --db sqlite --count 10000 --window 60
    python bench/reminders.py --db both --count 10000 --window 60 --instances 2
    python bench/reminders.py --db both --what delivery --count 10000 --rate 200

Two phases per database, on a throwaway database migrated to head, with the real
`scheduler.runner.Scheduler` (APScheduler, real clock) and the real reminders service:

1. spread: `--count` reminders fall due evenly within `--window` seconds. Lateness of a
   reminder = when its notification was enqueued (`notifications.created_at`) minus its
   `remind_at`; p50, p99 and max are printed. Expect about half the job interval plus the
   time a batch takes.
2. burst: `--count` reminders are all due at once (a restart after downtime); the drain
   rate is how many reminders a second the scheduler enqueues until none is left.

3. delivery: the same two phases delivered to the fake Bot API server (tests/fakes, on
   127.0.0.1, in a process of its own) by the scheduler and the bot's outbox sender wired as in
   `perezvon run`, with PEREZVON_TELEGRAM_RATE = `--rate`, one user (chat) per reminder.
   Lateness = the fake receiving the sendMessage minus `remind_at`; drain = reminders a
   second at the fake, first to last, as a share of `--rate` (targets: p99 < 2 s while the
   arrival rate is under the limit; drain >= 0.9 of the limit).

Not a test: it prints a table and asserts nothing. On a shared machine figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (  # bench/ is on sys.path as the script's folder
    add_pg_admin_dsn,
    throwaway_postgres,
)
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.scheduler_component import LOOK_AHEAD_SHARE
from core.activities.reminders import ReminderOptions
from core.clock import SystemClock
from core.config import CoreConfig
from core.db import create_engine, session_factory, sqlite_file
from core.migrate import upgrade
from core.models import Activity, Notification, User
from scheduler.jobs import JobOptions, Jobs
from scheduler.runner import Intervals, Scheduler

QUIET = 3600.0  # the other jobs stay out of the way
TG_BASE = 900_000_000  # the bench users' Telegram ids


def pct(data: list[float], p: float) -> float:
    ordered = sorted(data)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def prepare(engine: AsyncEngine, count: int, first: datetime, window: float) -> None:
    sessions = session_factory(engine)
    async with sessions() as session:
        user = User(name="Bench", role="sales", telegram_user_id=1, created_at=first)
        session.add(user)
        await session.flush()
        step = window / max(count - 1, 1)
        await _insert_tasks(session, [user.id] * count, first, step)
        await session.commit()


async def reset(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as session:
        await session.execute(Notification.__table__.delete())
        await session.execute(Activity.__table__.delete())
        await session.execute(User.__table__.delete())
        await session.commit()


async def run_phase(
    url: str, *, count: int, window: float, interval: float, batch: int, instances: int
) -> dict[str, float]:
    engine = create_engine(url)
    await reset(engine)
    first = datetime.now(UTC) + timedelta(seconds=2)
    await prepare(engine, count, first, window)
    runners = []
    engines = []
    for _ in range(instances):
        own = create_engine(url)
        engines.append(own)
        jobs = Jobs(
            sessions=session_factory(own),
            config=CoreConfig(),
            clock=SystemClock(),
            options=JobOptions(
                reminders=ReminderOptions(
                    batch_size=batch,
                    look_ahead=timedelta(seconds=interval * LOOK_AHEAD_SHARE),
                ),
                expire_ringing=False,
            ),
        )
        intervals = Intervals(
            reminders=interval, greetings=QUIET, digests=QUIET, housekeeping=QUIET
        )
        runners.append(Scheduler(jobs, intervals=intervals, sqlite_file=sqlite_file(url)))
    for runner in runners:
        await runner.start()
    sessions = session_factory(engine)
    deadline = time.monotonic() + window + 120
    try:
        while time.monotonic() < deadline:
            async with sessions() as session:
                done = await session.scalar(select(func.count()).select_from(Notification))
            if done == count:
                break
            await asyncio.sleep(0.2)
    finally:
        for runner in runners:
            await runner.stop()
        for own in engines:
            await own.dispose()
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Notification.created_at, Activity.remind_at).join(
                    Activity, Activity.id == Notification.payload["activity_id"].as_integer()
                )
            )
        ).all()
    await engine.dispose()
    lateness = [(created - due).total_seconds() for created, due in rows]
    if not lateness:
        return {"sent": 0.0}
    enqueued = sorted(created for created, _ in rows)
    busy = max((enqueued[-1] - enqueued[0]).total_seconds(), 1e-6)
    return {
        "sent": float(len(rows)),
        "p50": pct(lateness, 50),
        "p99": pct(lateness, 99),
        "max": max(lateness),
        # First to last enqueue: the drain rate of a burst (a spread is paced by its window).
        "rate": (len(rows) - 1) / busy if len(rows) > 1 else 0.0,
    }


async def prepare_users(engine: AsyncEngine, count: int, first: datetime, window: float) -> None:
    """`count` users with a Telegram id, each with one task falling due within `window`
    (one chat each: Telegram's one-message-a-second per chat does not pace them)."""
    sessions = session_factory(engine)
    step = window / max(count - 1, 1)
    async with sessions() as session:
        users = [
            {
                "name": f"Bench {n}",
                "role": "sales",
                "telegram_user_id": TG_BASE + n,
                "timezone": "Europe/Moscow",
                "locale": "ru",
                "active": True,
                "on_duty": False,
                "created_at": first,
            }
            for n in range(count)
        ]
        ids: list[int] = []
        for start in range(0, count, 2000):
            ids += list(
                await session.scalars(
                    insert(User).returning(User.id, sort_by_parameter_order=True),
                    users[start : start + 2000],
                )
            )
        await _insert_tasks(session, ids, first, step)
        await session.commit()


async def _insert_tasks(
    session: AsyncSession, owner_ids: list[int], first: datetime, step: float
) -> None:
    """A planned task for each of `owner_ids` (in turn), falling due `step` seconds apart."""
    rows = []
    for n, owner_id in enumerate(owner_ids):
        due = first + timedelta(seconds=n * step)
        rows.append(
            {
                "kind": "task",
                "title": f"Задача {n}",
                "due_at": due,
                "remind_at": due,
                "owner_id": owner_id,
                "status": "planned",
                "snooze_count": 0,
                "missed_count": 0,
                "created_at": first,
                "updated_at": first,
            }
        )
    for start in range(0, len(rows), 2000):
        await session.execute(insert(Activity), rows[start : start + 2000])


async def serve_fake() -> None:
    """`--serve-fake`: the fake Bot API server in its own process (Telegram costs this machine
    nothing in life); prints its URL, and at EOF on stdin one JSON line of the reminders it
    received: [chat id, activity id, wall-clock time]."""
    from tests.fakes.telegram_api import TOKEN, FakeTelegram
    from tests.scheduler.delivery import reminders_at

    fake = FakeTelegram(token=TOKEN)
    print(await fake.start(), flush=True)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    await stdin.read()
    wall = time.time() - time.monotonic()  # the fake's calls carry monotonic times
    got = [[r.chat_id, r.activity_id, r.at + wall] for r in reminders_at(fake)]
    print(json.dumps(got), flush=True)
    await fake.stop()


async def measure_delivery(
    url: str, *, count: int, window: float, interval: float, rate: float
) -> dict[str, float]:
    """Reminders delivered to the fake Bot API server (tests/fakes, loopback, another process)
    through the scheduler and the bot's outbox sender as `perezvon run` wires them (app/
    components, PEREZVON_TELEGRAM_RATE = `rate`). Lateness = the fake receiving the
    sendMessage minus `remind_at`; drain = reminders a second at the fake, first to last,
    over `rate`."""
    from app.bot_component import BotComponent
    from app.scheduler_component import SchedulerComponent
    from app.settings import Settings
    from app.wiring import Container
    from tests.fakes.telegram_api import TOKEN

    engine = create_engine(url)
    await reset(engine)
    sessions = session_factory(engine)
    fake = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-fake",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert fake.stdin is not None and fake.stdout is not None
    fake_url = (await fake.stdout.readline()).decode().strip()
    settings = Settings(
        database_url=url,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake_url,
        telegram_rate=rate,
        reminders_interval_seconds=interval,
        greetings_interval_seconds=QUIET,
        digests_interval_seconds=QUIET,
        housekeeping_interval_seconds=QUIET,
        log_level="WARNING",
    )
    container = Container.build(settings)
    scheduler, bot = SchedulerComponent(), BotComponent(container)
    await bot.start(container)
    await bot.runtime.wait_ready()
    await scheduler.start(container)
    # Everything runs before they fall due; the first one after the rows are committed.
    first = datetime.now(UTC) + timedelta(seconds=2 + count / 2000)
    await prepare_users(engine, count, first, window)
    async with sessions() as session:
        due = dict((await session.execute(select(Activity.id, Activity.remind_at))).tuples().all())
    deadline = time.monotonic() + window + count / rate * 2 + 60
    sent = select(func.count()).select_from(Notification).where(Notification.status == "sent")
    try:
        while time.monotonic() < deadline:  # recorded as sent once Telegram answered 200
            async with sessions() as session:
                if await session.scalar(sent) == count:
                    break
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)
    finally:
        await scheduler.stop()
        await bot.stop()
        await container.dispose()
        await engine.dispose()
        fake.stdin.close()
        received = json.loads((await fake.stdout.read()).decode())
        await fake.wait()
    lateness = [at - due[activity_id].timestamp() for _, activity_id, at in received]
    if not lateness:
        return {"sent": 0.0}
    times = sorted(at for _, _, at in received)
    busy = max(times[-1] - times[0], 1e-6)
    drained = (len(times) - 1) / busy if len(times) > 1 else 0.0
    return {
        "sent": float(len(received)),
        "twice": float(len(received) - len({activity_id for _, activity_id, _ in received})),
        "p50": pct(lateness, 50),
        "p99": pct(lateness, 99),
        "max": max(lateness),
        "rate": drained,
        "share": drained / rate,
    }


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite+aiosqlite:///{Path(folder) / 'reminders.db'}"


def postgres_database(admin_dsn: str) -> AbstractContextManager[str]:
    return throwaway_postgres(admin_dsn, f"perezvon_bench_reminders_{os.getpid()}")


def result_line(what: str, db: str, phase: str, instances: int, figures: dict[str, float]) -> str:
    """One row of the table main prints at the end (see the legend there)."""
    f = defaultdict(float, figures)
    if what == "enqueue":
        return (
            f"{db:8} {phase:6} {instances:>4} {f['sent']:>6.0f} "
            f"{f['p50']:>7.2f} {f['p99']:>7.2f} {f['max']:>7.2f} {f['rate']:>8.0f}"
        )
    return (
        f"{db:8} {'tg-' + phase:9} {f['sent']:>6.0f} {f['twice']:>5.0f} {f['p50']:>7.2f} "
        f"{f['p99']:>7.2f} {f['max']:>7.2f} {f['rate']:>8.1f} {f['share']:>6.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds they fall due in")
    parser.add_argument("--interval", type=float, default=1.0, help="reminders job, seconds")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--instances", type=int, default=1, help="schedulers (PostgreSQL)")
    parser.add_argument(
        "--what", choices=("enqueue", "delivery", "both"), default="both", help="which phases"
    )
    parser.add_argument(
        "--rate", type=float, default=200.0, help="PEREZVON_TELEGRAM_RATE for delivery"
    )
    add_pg_admin_dsn(parser)
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake:
        asyncio.run(serve_fake())
        return 0
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results: list[str] = []
    for db in databases:
        instances = args.instances if db == "postgres" else 1
        context = sqlite_database() if db == "sqlite" else postgres_database(args.pg_admin_dsn)
        with context as url:
            upgrade(url)
            timing = {"count": args.count, "interval": args.interval}
            measures = {
                "enqueue": partial(run_phase, url, batch=args.batch, instances=instances, **timing),
                "delivery": partial(measure_delivery, url, rate=args.rate, **timing),
            }
            for what, measure in measures.items():
                if args.what not in (what, "both"):
                    continue
                for phase, window in (("spread", args.window), ("burst", 0.0)):
                    figures = asyncio.run(measure(window=window))
                    results.append(result_line(what, db, phase, instances, figures))
                    print(results[-1], flush=True)
    print("\nenqueue: db, phase, instances, sent, p50/p99/max lateness s, enqueued/s")
    print(f"delivery at the fake (limit {args.rate:.0f}/s): db, phase, sent, twice, p50/p99/max")
    print("lateness s, delivered/s, share of the limit")
    print("\n".join(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
