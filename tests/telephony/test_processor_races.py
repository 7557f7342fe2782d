"""Two instances' processors racing to create one call: the loser redoes its rows at once."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.calls import service as calls
from core.context import Ctx
from core.events import CallEvent
from core.models import Call, ContactPhone, TelephonyEvent
from telephony_webhooks.processor import InboxProcessor
from telephony_webhooks.providers.registry import PROVIDERS, Provider
from tests.fakes.twilio_signer import generic_event
from tests.telephony.conftest import Pbx
from tests.telephony.test_processor_failures import Flaky

CALLS = ("race-a", "race-b", "race-c")
RINGING_FIRST = [(c, "ringing") for c in CALLS] + [
    (c, kind) for c in CALLS for kind in ("answer", "hangup")
]


async def send(pbx: Pbx, events: Sequence[tuple[str, str]]) -> None:
    """Each (call, kind) as the PBX sends it, in this order."""
    for call_id, kind in events:
        n = CALLS.index(call_id)
        fields = {
            "call_id": call_id,
            "event": kind,
            "direction": "in",
            "from": f"+7916710000{n}",
            "extension": "101",
            "timestamp": 1795683600 + n,
        }
        assert (await pbx.send(generic_event(fields), "generic")).status_code == 200


def other_instance_wins(
    monkeypatch: pytest.MonkeyPatch, other: InboxProcessor, races: int
) -> list[int]:
    """Between the processor's read of its calls and its insert, another instance's processor
    applies the next rows it can take (a call's answer and hangup) and commits that call first.
    Returns the list that counts the races run."""
    real = calls.prepare_batch
    run: list[int] = []
    inside: list[bool] = []

    async def racing(ctx: Ctx, events: Sequence[CallEvent]) -> calls.CallBatch:
        batch = await real(ctx, events)
        if not inside and len(run) < races and None in batch.calls.values():
            inside.append(True)
            try:
                assert await other.process_batch() == 2
            finally:
                inside.clear()
            run.append(1)
        return batch

    monkeypatch.setattr(calls, "prepare_batch", racing)
    return run


async def assert_every_call_applied_once(session: AsyncSession) -> None:
    statuses = dict(
        (await session.execute(select(Call.provider_call_id, Call.status))).tuples().all()
    )
    assert statuses == dict.fromkeys(CALLS, "answered")
    phones = await session.scalar(select(func.count()).select_from(ContactPhone))
    assert phones == len(CALLS)  # no contact was created twice either


def skip_on_sqlite(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("on SQLite the processor holds the write lock: no instance can interleave")


async def test_a_batch_that_loses_the_race_for_its_calls_is_redone_at_once_uncounted(
    pbx: Pbx, session: AsyncSession, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    skip_on_sqlite(database_url)
    await send(pbx, RINGING_FIRST)
    first = InboxProcessor(pbx.web, batch_size=len(CALLS))  # takes the three ringing rows
    races = other_instance_wins(monkeypatch, InboxProcessor(pbx.web, batch_size=2), len(CALLS))

    assert await first.process_batch() == len(CALLS)

    rows = (await session.scalars(select(TelephonyEvent).order_by(TelephonyEvent.id))).all()
    assert [(r.processed_at is not None, r.attempts, r.error) for r in rows] == [
        (True, 1, None)
    ] * len(rows)
    assert len(races) == len(CALLS)  # each redo lost the next call, the last one won
    await assert_every_call_applied_once(session)


async def test_a_row_that_loses_the_race_while_redone_alone_is_applied_at_once_uncounted(
    pbx: Pbx, session: AsyncSession, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    skip_on_sqlite(database_url)
    a, b = CALLS[:2]
    await send(pbx, [(a, "ringing"), (b, "ringing"), (b, "answer"), (b, "hangup")])
    # The first ringing row fails twice: its batch is redone row by row, it fails again and
    # waits for its retry, and then the second ringing row loses the race for its call.
    flaky = Flaky(f'"call_id": "{a}", "event": "ringing"', failures=2)
    providers = {**PROVIDERS, "generic": Provider("generic", flaky, (("GENERIC_TOKEN",),))}
    first = InboxProcessor(pbx.web, providers=providers, batch_size=2)
    races = other_instance_wins(monkeypatch, InboxProcessor(pbx.web, batch_size=2), 1)

    assert await first.process_batch() == 2

    rows = (await session.scalars(select(TelephonyEvent).order_by(TelephonyEvent.id))).all()
    assert [(r.call_key, r.processed_at is not None, r.attempts, r.error) for r in rows] == [
        (a, False, 1, "RuntimeError: the database hiccuped"),  # a real failure is counted
        (b, True, 1, None),  # the lost race was not
        (b, True, 1, None),
        (b, True, 1, None),
    ]
    assert len(races) == 1
    assert await session.scalar(select(Call.status).where(Call.provider_call_id == b)) == (
        "answered"
    )
