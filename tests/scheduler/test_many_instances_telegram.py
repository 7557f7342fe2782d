"""The real thing at the fake Bot API: `perezvon run --components scheduler,bot` processes.

1. Two instances on one PostgreSQL database, each talking to its own fake Bot API server (the
   same bot token; two servers show which instance sent what): 500 due reminders reach their
   users once in all, and both instances delivered a share.
2. An instance stopped mid-burst (SIGTERM, a deploy) and started again: none lost, none twice.
3. An instance killed mid-burst (SIGKILL) and started again: none lost; a reminder reaches its
   user twice only if it was at Telegram but not yet recorded as sent when the process died:
   the at-least-once window of bot/delivery.py (Telegram takes no idempotency key), which is
   closed by the recorder's next commit, so it holds a few messages at most.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Notification
from tests.conftest import PG_URL
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.scheduler.delivery import (
    Reminded,
    due_for_each_user,
    outbox_states,
    perezvon_run,
    reminders_at,
    twice,
    wait_until,
)

COUNT = 500
RATE = 100.0  # PEREZVON_TELEGRAM_RATE of each instance: a 500-message burst lasts ~5 s


@pytest.fixture
async def fakes() -> AsyncIterator[list[FakeTelegram]]:
    servers = [FakeTelegram(token=TOKEN), FakeTelegram(token=TOKEN)]
    for server in servers:
        await server.start()
    yield servers
    for server in servers:
        await server.stop()


def _log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


async def _started(fake: FakeTelegram, process: asyncio.subprocess.Process, log: Path) -> None:
    """Until the instance polls the fake: its scheduler and outbox sender are running then."""
    await wait_until(
        lambda: process.returncode is not None or bool(fake.sent("getUpdates")),
        within=60,
        what="perezvon run did not start",
    )
    assert process.returncode is None, _log_tail(log)


async def _stop(process: asyncio.subprocess.Process, how: signal.Signals) -> None:
    if process.returncode is None:
        process.send_signal(how)
    async with asyncio.timeout(30):
        await process.wait()


async def _all_delivered(
    sessions: async_sessionmaker[AsyncSession], fakes: list[FakeTelegram], expected: int
) -> None:
    """Until every user got a reminder and every outbox row is recorded as sent."""

    def arrived() -> int:
        return len({r.chat_id for fake in fakes for r in reminders_at(fake)})

    # Generous: the bound includes a restarted instance's start-up (imports, migrations),
    # which a loaded CI machine running two test workers stretches well past the 5 s burst.
    await wait_until(
        lambda: arrived() >= expected,
        within=120,
        what=lambda: f"{arrived()} of {expected} users got their reminder",
    )
    deadline = asyncio.get_running_loop().time() + 10
    while any(state != ("sent", False) for state in (await outbox_states(sessions)).values()):
        assert asyncio.get_running_loop().time() < deadline, "outbox rows left unrecorded"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.6)  # more scheduler ticks and claim rounds: a second copy shows now


@pytest.mark.skipif(PG_URL is None, reason="several instances need PostgreSQL")
async def test_two_instances_deliver_each_of_500_reminders_once_to_telegram(
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    fakes: list[FakeTelegram],
    tmp_path: Path,
) -> None:
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    instances = [
        await perezvon_run(database_url, fake, rate=RATE, log=log)
        for fake, log in zip(fakes, logs, strict=True)
    ]
    try:
        for fake, process, log in zip(fakes, instances, logs, strict=True):
            await _started(fake, process, log)
        expected = await due_for_each_user(
            sessions, COUNT, datetime.now(UTC) - timedelta(seconds=1)
        )
        await _all_delivered(sessions, fakes, COUNT)
    finally:
        for process in instances:
            await _stop(process, signal.SIGTERM)

    reminded = [r for fake in fakes for r in reminders_at(fake)]
    assert twice(reminded) == {}
    assert {r.chat_id: r.activity_id for r in reminded} == expected
    shares = [len(reminders_at(fake)) for fake in fakes]
    assert all(share > 0 for share in shares), shares
    assert all(r.actions == {"done", "snooze", "move", "ren", "del"} for r in reminded)


@dataclass
class OneInstance:
    """One `perezvon run` at a time on the test database, talking to `fake`, logging to `log`."""

    sessions: async_sessionmaker[AsyncSession]
    database_url: str
    fake: FakeTelegram
    log: Path

    async def burst_interrupted(
        self, how: signal.Signals
    ) -> tuple[dict[int, int], set[int], dict[int, tuple[str, bool]]]:
        """500 due reminders, the instance stopped with `how` a third of the way through.

        Returns the expected {chat: activity}, the chats the fake had then, the outbox then."""
        expected = await due_for_each_user(
            self.sessions, COUNT, datetime.now(UTC) - timedelta(seconds=1)
        )
        first = await perezvon_run(self.database_url, self.fake, rate=RATE, log=self.log)
        try:
            await wait_until(
                lambda: first.returncode is not None or len(reminders_at(self.fake)) >= COUNT // 3,
                within=60,
                what="the burst did not start",
                poll=0.01,
            )
            assert first.returncode is None, _log_tail(self.log)
        finally:
            await _stop(first, how)
        at_fake = {r.chat_id for r in reminders_at(self.fake)}
        assert 0 < len(at_fake) < COUNT, "the stop was meant to land mid-burst"
        assert twice(reminders_at(self.fake)) == {}
        return expected, at_fake, await outbox_states(self.sessions)

    async def restarted_until_all_delivered(self) -> list[Reminded]:
        """A new instance on the same database, run until every reminder is delivered and
        recorded, then stopped; every reminder the fake got, the earlier instance's too."""
        second = await perezvon_run(self.database_url, self.fake, rate=RATE, log=self.log)
        try:
            await _all_delivered(self.sessions, [self.fake], COUNT)
        finally:
            await _stop(second, signal.SIGTERM)
        return reminders_at(self.fake)


@pytest.fixture
def instance(
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    fakes: list[FakeTelegram],
    tmp_path: Path,
) -> OneInstance:
    return OneInstance(sessions, database_url, fakes[0], tmp_path / "run.log")


async def test_an_instance_stopped_mid_burst_and_restarted_delivers_each_reminder_once(
    instance: OneInstance,
) -> None:
    expected, at_fake, outbox = await instance.burst_interrupted(signal.SIGTERM)
    # A stop gives back what it had not sent and records what it had.
    sent = {a for a, (status, _) in outbox.items() if status == "sent"}
    assert sent == {expected[chat] for chat in at_fake}
    assert not any(claimed for _, claimed in outbox.values())

    reminded = await instance.restarted_until_all_delivered()
    assert twice(reminded) == {}, "a reminder reached Telegram twice"
    assert {r.chat_id: r.activity_id for r in reminded} == expected


async def test_an_instance_killed_mid_burst_and_restarted_loses_none_and_repeats_only_unrecorded(
    instance: OneInstance,
) -> None:
    expected, at_fake, outbox = await instance.burst_interrupted(signal.SIGKILL)
    sent = {a for a, (status, _) in outbox.items() if status == "sent"}
    in_flight = {a for a, (status, claimed) in outbox.items() if status == "pending" and claimed}
    delivered = {expected[chat] for chat in at_fake}
    assert sent <= delivered  # nothing is recorded as sent that Telegram did not get
    unrecorded = delivered - sent
    assert unrecorded <= in_flight  # at Telegram, not recorded: still under the dead one's lease
    assert len(in_flight) <= 50  # the sender's batch: what it holds at most

    # The dead instance's leases (outbox.CLAIM_SECONDS) are aged as if that time had passed.
    async with instance.sessions() as session:
        await session.execute(
            update(Notification)
            .where(Notification.claimed_until.is_not(None))
            .values(claimed_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    reminded = await instance.restarted_until_all_delivered()
    assert {r.chat_id: r.activity_id for r in reminded} == expected  # none lost
    by_activity = {expected[chat] for chat in twice(reminded)}
    assert by_activity == unrecorded, "only the unrecorded ones may reach Telegram twice"
    assert max(twice(reminded).values(), default=1) <= 2  # none more than twice
