"""Two processors on one database (several instances): each call still ends up right."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Activity, Call, TelephonyEvent
from telephony_webhooks.processor import InboxProcessor
from tests.fakes.twilio_signer import generic_event
from tests.telephony.conftest import Pbx

CALLS = 30


async def test_two_processors_apply_every_call_once_and_in_order(
    pbx: Pbx, session: AsyncSession
) -> None:
    for n in range(CALLS):
        base = {
            "call_id": f"cc-{n}",
            "direction": "in",
            "from": f"+7916700{n:04d}",
            "extension": "101",
            "timestamp": 1795683600 + n,
        }
        for kind in ("ringing", "answer", "hangup"):
            response = await pbx.send(generic_event({**base, "event": kind}), "generic")
            assert response.status_code == 200
    first = InboxProcessor(pbx.web, batch_size=7)
    second = InboxProcessor(pbx.web, batch_size=5)
    await asyncio.gather(first.drain(), second.drain())
    await first.drain()  # rows the other one held when this one last looked, if any
    statuses = (await session.scalars(select(Call.status))).all()
    assert sorted(statuses) == ["answered"] * CALLS
    assert (await session.scalars(select(Activity))).all() == []
    rows = await session.execute(
        select(TelephonyEvent.processed_at, TelephonyEvent.attempts, TelephonyEvent.error)
    )
    # Losing a race to the other processor is not a failed attempt: nothing waits for a retry.
    settled = [(done is not None, attempts, error) for done, attempts, error in rows]
    assert settled == [(True, 1, None)] * CALLS * 3
