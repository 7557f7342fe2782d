"""The telephony inbox's lifecycle in core: claim in order, apply, fail with the one backoff."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import select

from core.context import Ctx
from core.events import CallEvent
from core.inbox import lifecycle
from core.models import Call, TelephonyEvent
from core.outbox import service as outbox
from tests.factories import PROVIDER, call_event, make_inbox_row
from tests.fakes.clock import FakeClock

MAX_ATTEMPTS = 4


def ringing(clock: FakeClock) -> lifecycle.Parse:
    def parse(row: TelephonyEvent) -> Sequence[CallEvent]:
        assert row.call_key is not None
        return [call_event(clock, row.call_key, "ringing", client_number="+79160000021")]

    return parse


async def test_a_failing_row_backs_off_as_the_outbox_does_then_is_parked(
    ctx: Ctx, clock: FakeClock
) -> None:
    row_id = await make_inbox_row(ctx, "c1", 1)
    delays = []
    for _attempt in range(MAX_ATTEMPTS - 1):
        failure = await lifecycle.fail(
            ctx, row_id=row_id, error=RuntimeError("boom"), max_attempts=MAX_ATTEMPTS
        )
        assert failure.retry_at is not None
        delays.append(failure.retry_at - clock.now())
    parked = await lifecycle.fail(
        ctx, row_id=row_id, error=RuntimeError("boom"), max_attempts=MAX_ATTEMPTS
    )

    # One policy for work retried from a table (core/retry.py): 10 s, 20 s, 40 s …
    assert delays == [outbox.backoff(n) for n in range(1, MAX_ATTEMPTS)]
    assert (parked.attempts, parked.retry_at) == (MAX_ATTEMPTS, None)
    row = await ctx.session.get(TelephonyEvent, row_id)
    assert row is not None and row.processed_at == clock.now()
    assert row.error == f"parked after {MAX_ATTEMPTS} attempts: RuntimeError: boom"


async def test_a_row_waiting_to_retry_holds_back_its_calls_later_rows_only(
    ctx: Ctx, clock: FakeClock
) -> None:
    first = await make_inbox_row(ctx, "c1", 1)
    await make_inbox_row(ctx, "c1", 2)
    await make_inbox_row(ctx, "c2", 1)
    await lifecycle.fail(ctx, row_id=first, error=RuntimeError("boom"), max_attempts=MAX_ATTEMPTS)

    assert await lifecycle.apply_due(ctx, limit=10, parse=ringing(clock)) == 1
    assert list(await ctx.session.scalars(select(Call.provider_call_id))) == ["c2"]

    clock.advance(seconds=outbox.backoff(1).total_seconds())
    assert await lifecycle.apply_due(ctx, limit=10, parse=ringing(clock)) == 2
    pending = await ctx.session.scalars(
        select(TelephonyEvent.id).where(TelephonyEvent.processed_at.is_(None))
    )
    assert list(pending) == []


async def test_an_unreadable_row_is_settled_with_its_reason_and_the_batch_goes_on(
    ctx: Ctx, clock: FakeClock
) -> None:
    bad = await make_inbox_row(ctx, "c1", 1)
    await make_inbox_row(ctx, "c2", 1)

    def parse(row: TelephonyEvent) -> Sequence[CallEvent]:
        if row.id == bad:
            raise lifecycle.Unreadable("unparseable: no call id")
        return ringing(clock)(row)

    assert await lifecycle.apply_due(ctx, limit=10, parse=parse) == 2
    row = await ctx.session.get(TelephonyEvent, bad)
    assert row is not None and (row.error, row.attempts) == ("unparseable: no call id", 1)
    assert list(await ctx.session.scalars(select(Call.provider_call_id))) == ["c2"]


async def test_a_failed_batch_keeps_nothing_and_names_its_rows(ctx: Ctx, clock: FakeClock) -> None:
    ids = [await make_inbox_row(ctx, f"c{n}", 1) for n in range(3)]

    def parse(row: TelephonyEvent) -> Sequence[CallEvent]:
        if row.id == ids[2]:
            raise RuntimeError("adapter bug")
        return ringing(clock)(row)

    with pytest.raises(lifecycle.BatchFailed) as failed:
        await lifecycle.apply_due(ctx, limit=10, parse=parse)

    assert failed.value.ids == ids
    assert list(await ctx.session.scalars(select(Call.id))) == []
    assert await lifecycle.apply_row(ctx, row_id=ids[0], parse=parse, waiting={}) == "applied"
    with pytest.raises(lifecycle.RowFailed) as row_failed:
        await lifecycle.apply_row(ctx, row_id=ids[2], parse=parse, waiting={})
    assert row_failed.value.key == (PROVIDER, "c2")
    assert isinstance(row_failed.value.__cause__, RuntimeError)
