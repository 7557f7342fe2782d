"""The processor when applying a row fails: others go on, order within a call is kept."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import CallEvent
from core.models import Activity, Call, TelephonyEvent
from telephony_webhooks.processor import InboxProcessor
from telephony_webhooks.providers import generic
from telephony_webhooks.providers.base import ProviderOptions, RawRequest
from telephony_webhooks.providers.registry import PROVIDERS, Provider
from tests.fakes.clock import FakeClock
from tests.fakes.twilio_signer import generic_event
from tests.telephony.conftest import Pbx


class Flaky:
    """The generic adapter, except that parsing a marked event fails `failures` times."""

    verify = staticmethod(generic.verify)
    accept = staticmethod(generic.accept)
    reply = staticmethod(generic.reply)

    def __init__(self, marker: str, failures: int) -> None:
        self.marker = marker.encode()
        self.failures = failures

    def parse(self, request: RawRequest, options: ProviderOptions) -> list[CallEvent]:
        if self.marker in request.body and self.failures > 0:
            self.failures -= 1
            raise RuntimeError("the database hiccuped")
        return generic.parse(request, options)


def processor_with(pbx: Pbx, adapter: Flaky) -> InboxProcessor:
    providers = {**PROVIDERS, "generic": Provider("generic", adapter, (("GENERIC_TOKEN",),))}
    return InboxProcessor(pbx.web, providers=providers)


def event(call_id: str, kind: str, **extra: object) -> RawRequest:
    fields = {"event": kind, "call_id": call_id, "direction": "in", "from": "+79160001122"}
    return generic_event({**fields, "timestamp": 1795683600, **extra})


async def test_a_row_that_keeps_failing_does_not_stop_other_calls(
    pbx: Pbx, session: AsyncSession
) -> None:
    for call_id in ("ok-1", "bad-2", "ok-3"):
        response = await pbx.send(event(call_id, "hangup", status="missed"), "generic")
        assert response.status_code == 200
    await processor_with(pbx, Flaky("bad-2", failures=99)).drain()
    calls = sorted((await session.scalars(select(Call.provider_call_id))).all())
    assert calls == ["ok-1", "ok-3"]
    failed = await session.scalar(
        select(TelephonyEvent).where(TelephonyEvent.processed_at.is_(None))
    )
    assert failed is not None and "hiccuped" in (failed.error or "")
    assert failed.next_attempt_at is not None


async def test_a_retried_row_is_not_overtaken_by_later_events_of_its_call(
    pbx: Pbx, session: AsyncSession, clock: FakeClock
) -> None:
    await pbx.send(event("c-1", "ringing", extension="101"), "generic")
    await pbx.send(event("c-1", "answer", extension="101"), "generic")
    # Fails in the batch and again alone: it waits for its retry.
    processor = processor_with(pbx, Flaky('"answer"', failures=2))
    await processor.drain()
    # The hang-up arrives while the answer waits; it must not be applied before it.
    await pbx.send(event("c-1", "hangup", extension="101"), "generic")
    await processor.drain()
    call = await session.scalar(select(Call))
    assert call is not None and call.status == "ringing" and call.ended_at is None
    clock.advance(minutes=5)  # past the retry's backoff
    await processor.drain()
    session.expire_all()
    call = await session.scalar(select(Call))
    assert call is not None and call.status == "answered" and call.ended_at is not None
    assert (await session.scalars(select(Activity))).all() == []
    pending = await session.scalars(select(TelephonyEvent).where(TelephonyEvent.error.is_not(None)))
    assert pending.all() == []
