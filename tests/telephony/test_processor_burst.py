"""During a burst the processor takes small batches, so waiting PBXs get their 200s first."""

from __future__ import annotations

import asyncio

import pytest

from telephony_webhooks import processor as processor_module
from telephony_webhooks.inbox import BURST_MEMORY_SECONDS, BURST_ROWS, InboxWriter
from telephony_webhooks.processor import BURST_BATCH, InboxProcessor
from tests.fakes.twilio_signer import GENERIC_TOKEN
from tests.telephony.conftest import Pbx
from tests.waits import wait_until


async def stored_calls(pbx: Pbx, prefix: str, count: int) -> tuple[InboxWriter, InboxProcessor]:
    """`count` ringing calls stored in the inbox (none applied), and a processor over it."""
    for n in range(count):
        event = {"event": "ringing", "call_id": f"{prefix}-{n}", "direction": "in"}
        response = await pbx.client.post(
            "/webhooks/generic",
            json=event | {"from": "+79160001122"},
            headers={"x-perezvon-token": GENERIC_TOKEN},
        )
        assert response.status_code == 200
    inbox: InboxWriter = pbx.app.state.pbx.inbox
    return inbox, InboxProcessor(pbx.web, inbox=inbox)


async def test_small_batches_while_requests_wait_full_ones_when_quiet(
    pbx: Pbx, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, processor = await stored_calls(pbx, "b", 50)
    monkeypatch.setattr(processor_module, "YIELD_TO_REQUESTS_SECONDS", 0.01)

    inbox.idle.clear()  # as if requests kept waiting for their rows to be stored
    assert await processor.process_batch() == BURST_BATCH
    inbox.idle.set()
    assert await processor.process_batch() == 50 - BURST_BATCH
    assert await processor.process_batch() == 0


async def test_outside_a_burst_the_wait_for_a_quiet_moment_is_short(
    pbx: Pbx, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few hundred events a second are no burst: the processor waits for a moment with no
    request being stored only IDLE_WAIT_SECONDS, not the burst's long yield, so a screen pop
    in its batch is not held up for it."""
    inbox, processor = await stored_calls(pbx, "i", 5)
    monkeypatch.setattr(processor_module, "YIELD_TO_REQUESTS_SECONDS", 30.0)
    monkeypatch.setattr(processor_module, "IDLE_WAIT_SECONDS", 0.05)
    assert not inbox.in_burst()
    inbox.idle.clear()  # a request is being stored, as at any moment under steady traffic
    async with asyncio.timeout(10.0):  # the burst's yield would take 30 s
        assert await processor.process_batch() == 5
    inbox.idle.set()


async def test_a_burst_is_big_commits_coming_and_ends_when_they_stop(pbx: Pbx) -> None:
    inbox: InboxWriter = pbx.app.state.pbx.inbox
    event = {"event": "ringing", "direction": "in", "from": "+79160001122"}
    headers = {"x-perezvon-token": GENERIC_TOKEN}
    await asyncio.gather(
        *(
            pbx.client.post(
                "/webhooks/generic", json=event | {"call_id": f"q-{n}"}, headers=headers
            )
            for n in range(2 * BURST_ROWS)
        )
    )
    assert inbox.in_burst()  # they were stored in commits of a burst's size
    # and nothing came since: the burst is forgotten once its memory has passed
    await wait_until(
        lambda: not inbox.in_burst(), within=BURST_MEMORY_SECONDS + 5, what="still in a burst"
    )
