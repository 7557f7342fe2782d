from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.calls import service as calls
from core.calls.models import Call
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.events import CallEvent
from core.models import Activity, Contact, Notification
from tests.factories import call_event, make_user
from tests.fakes.clock import FakeClock

ev = call_event
Send = Callable[..., Awaitable[Call]]


@pytest.fixture
def send(ctx: Ctx, clock: FakeClock) -> Send:
    """Applies an event of the test provider about a call, happening now on the clock, as
    the inbox would: `send("c1", "ended", status="answered")`."""

    async def apply(call_id: str, kind: str, **fields: Any) -> Call:
        return await calls.apply_event(ctx, event=ev(clock, call_id, kind, **fields))

    return apply


async def seller(ctx: Ctx, system: Actor, ext: str = "101", tg: int = 5001) -> int:
    return (await make_user(ctx, "Анна", tg=tg, extensions=[ext])).id


async def test_inbound_answered_call_logs_contact_employee_and_post_call_prompt(
    ctx: Ctx, clock: FakeClock, system: Actor, send: Send
) -> None:
    anna = await seller(ctx, system)
    await send(
        "c1",
        "ringing",
        direction="in",
        client_number="8 916 123-45-67",
        our_number="74950000000",
        extension="101",
    )
    clock.advance(seconds=5)
    await send("c1", "answered", extension="101")
    clock.advance(seconds=65)
    call = await send("c1", "ended")
    assert call.status == "answered" and call.user_id == anna
    assert call.client_e164 == "+79161234567"
    assert (call.ring_seconds, call.talk_seconds) == (5, 65)
    contact = await ctx.session.get(Contact, call.contact_id)
    assert contact is not None and contact.source == "call" and contact.owner_id == anna
    kinds = sorted((await ctx.session.scalars(select(Notification.kind))).all())
    assert kinds == ["incoming_call", "post_call"]


async def test_second_missed_call_updates_the_same_callback_task_and_callback_closes_it(
    ctx: Ctx, clock: FakeClock, system: Actor, send: Send
) -> None:
    await seller(ctx, system)
    for call_id in ("m1", "m2"):
        await send(
            call_id, "ringing", direction="in", client_number="+79161234567", extension="101"
        )
        clock.advance(seconds=20)
        await send(call_id, "ended")
        clock.advance(minutes=3)
    tasks = list(await ctx.session.scalars(select(Activity).where(Activity.kind == "callback")))
    assert len(tasks) == 1 and tasks[0].missed_count == 2 and tasks[0].status == "planned"
    assert tasks[0].due_at is not None
    clock.advance(minutes=4)
    await send("out1", "ringing", direction="out", client_number="89161234567", extension="101")
    clock.advance(seconds=10)
    back = await send("out1", "answered")
    await ctx.session.refresh(tasks[0])
    assert tasks[0].status == "done" and tasks[0].closed_by_call_id == back.id
    # The first missed call ended at 20 s; the callback was answered at 650 s.
    answered_at = 20 + 180 + 20 + 180 + 240 + 10
    assert tasks[0].time_to_callback_seconds == answered_at - 20
    assert back.callback_of_id is not None


async def test_own_numbers_extensions_and_anonymous_never_become_contacts(
    ctx: Ctx, clock: FakeClock, system: Actor, send: Send
) -> None:
    for i, number in enumerate(["+74950000000", "102", "Anonymous", "client:alice", "sip:a@b.c"]):
        await send(f"n{i}", "ringing", direction="in", client_number=number)
        await send(f"n{i}", "ended")
    assert (await ctx.session.scalars(select(Contact))).all() == []
    assert (await ctx.session.scalars(select(Activity))).all() == []


async def test_state_only_moves_forward_and_final_record_overwrites(
    ctx: Ctx, clock: FakeClock, system: Actor, send: Send
) -> None:
    await send("f1", "ringing", direction="in", client_number="+79160000001")
    clock.advance(seconds=30)
    await send("f1", "ended", status="answered", talk_seconds=20)
    late_ring = await send("f1", "ringing")
    assert late_ring.ended_at is not None and late_ring.status == "answered"
    final = await send("f1", "final", status="answered", talk_seconds=42, ring_seconds=3)
    assert (final.talk_seconds, final.ring_seconds) == (42, 3)
    clock.advance(minutes=5)
    rec = await send("f1", "recording", recording="rec-1")
    assert rec.recording == "rec-1" and rec.talk_seconds == 42


async def test_outbound_to_unknown_number_creates_no_contact_by_default(
    ctx: Ctx, clock: FakeClock, system: Actor, send: Send
) -> None:
    call = await send("o1", "ringing", direction="out", client_number="+79160000009")
    assert call.contact_id is None
    known = await contacts.create_contact(
        ctx, actor=system, name="Знакомый", phones=["+79160000010"]
    )
    call2 = await send("o2", "ringing", direction="out", client_number="89160000010")
    assert call2.contact_id == known.id


async def test_stuck_ringing_call_becomes_missed_after_timeout(
    ctx: Ctx, clock: FakeClock, system: Actor, send: Send
) -> None:
    await send("s1", "ringing", direction="in", client_number="+79160000003")
    clock.advance(seconds=ctx.config.ringing_timeout_seconds + 1)
    assert await calls.expire_stale_ringing(ctx) == 1
    call = await calls.get_call(ctx, actor=system, call_id=1)
    assert call.status == "missed" and call.ended_at is not None
    assert call.ended_at < clock.now() - timedelta(seconds=1)


async def test_a_colleagues_leg_ending_does_not_end_a_ringing_group_call(
    ctx: Ctx, clock: FakeClock, system: Actor, send: Send
) -> None:
    await seller(ctx, system, "101", 5001)
    await send("g1", "ringing", direction="in", client_number="+79160000004", extension="101")
    clock.advance(seconds=8)
    call = await send("g1", "ended", extension="102")
    assert call.ended_at is None and call.status == "ringing"
    await send("g1", "answered", extension="101")
    clock.advance(seconds=30)
    call = await send("g1", "ended", extension="101")
    assert call.status == "answered" and call.talk_seconds == 30
    assert (await ctx.session.scalars(select(Activity))).all() == []


async def test_final_record_saying_answered_cancels_the_callback_a_late_hangup_opened(
    ctx: Ctx, clock: FakeClock, system: Actor, send: Send
) -> None:
    await send("t1", "ringing", direction="in", client_number="+79160000005")
    clock.advance(seconds=40)
    await send("t1", "ended")
    task = await ctx.session.scalar(select(Activity))
    assert task is not None and task.status == "planned"
    call = await send("t1", "final", status="answered", talk_seconds=25)
    await ctx.session.refresh(task)
    assert call.status == "answered" and task.status == "canceled"


async def test_a_long_answered_call_is_not_cut_off_by_the_ringing_timeout(
    ctx: Ctx, clock: FakeClock, system: Actor, send: Send
) -> None:
    await seller(ctx, system)
    await send("long", "ringing", direction="in", client_number="+79160000006", extension="101")
    clock.advance(seconds=5)
    await send("long", "answered", extension="101")
    clock.advance(minutes=11)
    assert await calls.expire_stale_ringing(ctx) == 0
    clock.advance(minutes=9)
    call = await send("long", "ended", extension="101")
    assert call.talk_seconds == 20 * 60
    kinds = (await ctx.session.scalars(select(Notification.kind))).all()
    assert kinds.count("post_call") == 1


async def test_a_call_with_events_still_in_the_inbox_is_not_expired(
    ctx: Ctx, clock: FakeClock, system: Actor, send: Send
) -> None:
    from core.models import TelephonyEvent

    await send("queued", "ringing", direction="in", client_number="+79160000007")
    ctx.session.add(
        TelephonyEvent(
            provider="test",
            dedupe_key="test:queued:end",
            call_key="queued",
            body=b"{}",
            headers={},
            received_at=clock.now(),
        )
    )
    await ctx.session.commit()
    clock.advance(seconds=ctx.config.ringing_timeout_seconds + 1)
    assert await calls.expire_stale_ringing(ctx) == 0


async def test_the_real_end_replaces_an_end_assumed_by_the_timeout(
    ctx: Ctx, clock: FakeClock, system: Actor, send: Send
) -> None:
    await send("late", "ringing", direction="in", client_number="+79160000008")
    clock.advance(seconds=ctx.config.ringing_timeout_seconds + 1)
    assert await calls.expire_stale_ringing(ctx) == 1
    call = await send("late", "ended", status="answered", talk_seconds=30)
    assert call.status == "answered" and call.disposition is None
    task = await ctx.session.scalar(select(Activity))
    assert task is not None and task.status == "canceled"


async def test_a_batch_finds_its_calls_by_index_not_by_reading_every_call(
    ctx: Ctx, clock: FakeClock, send: Send
) -> None:
    """The processor loads a batch's calls with one query per provider. On SQLite the
    row-value form `(provider, provider_call_id) IN (…)` scanned every call ever logged
    (80 % of the processor's time at 130k calls); each statement must search an index."""
    for n in range(3):
        await send(f"old{n}", "ringing")
    await ctx.session.commit()
    events = [ev(clock, "old1", "answered"), ev(clock, "new", "ringing")]
    events.append(
        CallEvent(provider="other", provider_call_id="x", kind="ringing", occurred_at=clock.now())
    )
    statements: list[tuple[str, Any]] = []
    engine = ctx.session.bind
    assert isinstance(engine, AsyncEngine)

    def record(_conn: object, _cursor: object, sql: str, params: Any, *_: object) -> None:
        if "FROM calls" in sql:
            statements.append((sql, params))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        batch = await calls.prepare_batch(ctx, events)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert batch.calls[("test", "old1")] is not None
    assert batch.calls[("test", "new")] is None and batch.calls[("other", "x")] is None
    assert len(statements) == 2  # one per provider
    if engine.dialect.name == "sqlite":
        async with engine.connect() as conn:
            for sql, params in statements:
                plan = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
                details = [str(row[-1]) for row in plan]
                assert not any(d.startswith("SCAN calls") for d in details), details
                assert any(d.startswith("SEARCH calls USING INDEX") for d in details), details


async def test_stale_calls_are_expired_in_one_commit_with_one_task_per_number(
    ctx: Ctx, clock: FakeClock, system: Actor, send: Send
) -> None:
    await seller(ctx, system)
    for call_id in ("x1", "x2"):
        await send(call_id, "ringing", client_number="+79160000011", extension="101")
    clock.advance(seconds=ctx.config.ringing_timeout_seconds + 1)
    commits: list[int] = []
    event.listen(ctx.session.sync_session, "after_commit", lambda _s: commits.append(1))

    assert await calls.expire_stale_ringing(ctx) == 2

    # The use case commits once, itself (no job commits on its behalf), and the two missed
    # calls from one number share one callback task inside that one transaction.
    assert commits == [1]
    tasks = (await ctx.session.scalars(select(Activity).where(Activity.kind == "callback"))).all()
    assert len(tasks) == 1
