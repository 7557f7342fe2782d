"""Stopping the inbox processor and writer ends them, even when the cancel turns into an error.

A cancel that lands while asyncpg runs a query leaves SQLAlchemy's connection invalid; the
rollback on the way out then raises PendingRollbackError in place of CancelledError. A retry loop
that catches Exception used to log it and go on, and `stop()` waited for it forever (the hang of
the PostgreSQL test runs in issue 9).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.exc import PendingRollbackError

from telephony_webhooks.inbox import InboxRow, InboxUnavailable, InboxWriter
from telephony_webhooks.processor import InboxProcessor
from tests.telephony.conftest import Pbx


async def broken_by_the_cancel(started: asyncio.Event) -> int:
    """A database call that a cancel breaks into another error, as the driver's does."""
    started.set()
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        raise PendingRollbackError(
            "Can't reconnect until invalid transaction is rolled back"
        ) from None
    return 0


class CancelBreaksTheBatch(InboxProcessor):
    started: asyncio.Event

    async def process_batch(self) -> int:
        return await broken_by_the_cancel(self.started)


async def test_stop_ends_the_processor_when_the_cancel_breaks_its_query(pbx: Pbx) -> None:
    processor = CancelBreaksTheBatch(pbx.web)
    processor.started = asyncio.Event()
    await processor.start()
    async with asyncio.timeout(10):
        await processor.started.wait()

    async with asyncio.timeout(10):
        await processor.stop()

    assert processor.applied == 0


async def test_stop_ends_the_processor_that_is_waiting_for_work(pbx: Pbx) -> None:
    processor = InboxProcessor(pbx.web)
    for _ in range(20):  # a cancel at any point of its cycle, including the idle wait
        await processor.start()
        await asyncio.sleep(0.01)
        async with asyncio.timeout(10):
            await processor.stop()


class CancelBreaksTheInsert(InboxWriter):
    started: asyncio.Event

    async def _insert(self, rows: list[InboxRow]) -> None:
        await broken_by_the_cancel(self.started)


async def test_stop_ends_the_inbox_writer_when_the_cancel_breaks_its_insert(pbx: Pbx) -> None:
    writer = CancelBreaksTheInsert(pbx.web.sessions)
    writer.started = asyncio.Event()
    await writer.start()
    row = InboxRow(
        provider="generic",
        dedupe_key="k-1",
        call_key="c-1",
        event_type="ringing",
        body=b"{}",
        content_type="application/json",
        headers={},
        remote_addr="127.0.0.1",
        received_at=datetime.now(UTC),
    )
    storing = asyncio.create_task(writer.store(row))
    async with asyncio.timeout(10):
        await writer.started.wait()

    async with asyncio.timeout(10):
        await writer.stop()

    async with asyncio.timeout(10):
        outcome = await asyncio.gather(storing, return_exceptions=True)
    assert isinstance(outcome[0], InboxUnavailable)  # the PBX is told to retry
