"""Edits of live call messages are the outbox's lower lane (bot/delivery.py, step 4).

Through the real renderer, the real aiogram Bot and the fake Bot API: new messages for a chat
(screen pops, post-call prompts) go before the edits waiting for it, the edits of one message
go as one request showing the latest state, and a restart in the middle loses and doubles
nothing. Orders are asserted from the requests the fake received, not from wall-clock times;
each chat's budget is made slow (one message per `INTERVAL`) so that the edits really wait.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deps import BotDeps
from core.calls import service as calls
from core.config import CoreConfig
from core.models import Notification
from tests.bot.conftest import MakeSender
from tests.bot.helpers_delivery import ShiftedClock, context_of, real_time_deps, settled, stored
from tests.factories import call_event, make_user
from tests.fakes.telegram_api import Call, FakeTelegram

ANNA_TG = 7201
INTERVAL = 1.5  # seconds per message in Анна's chat: long enough for the steps between
CLIENTS = {"c-1": "+79161234501", "c-2": "+79161234502", "c-3": "+79161234503"}
PATIENCE = 20.0
SLOW_ANSWER = 3.0  # seconds the fake takes to answer, where a test makes Telegram slow


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
async def deps(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: ShiftedClock
) -> BotDeps:
    made = real_time_deps(sessions, dataclasses.replace(config, live_call_messages=True), clock)
    async with context_of(made) as ctx:
        await make_user(ctx, "Анна", tg=ANNA_TG, extensions=["101"])
    return made


async def pbx(deps: BotDeps, call_id: str, kind: str, **fields: object) -> None:
    """One PBX event of an incoming call to extension 101 (Анна), applied and committed."""
    async with context_of(deps) as ctx:
        event = call_event(
            deps.clock,
            call_id,
            kind,
            direction="in",
            client_number=CLIENTS[call_id],
            extension="101",
            **fields,
        )
        await calls.apply_event(ctx, event=event)


async def ended(deps: BotDeps, call_id: str, talk_seconds: int) -> None:
    await pbx(deps, call_id, "ended", status="answered", talk_seconds=talk_seconds)


async def claimed_edits(deps: BotDeps, count: int) -> None:
    """Until `count` edit rows are held by a sender (claimed, not yet settled)."""
    async with asyncio.timeout(PATIENCE):
        while True:
            rows = await stored(deps)
            held = [
                r
                for r in rows
                if r.kind == "call_update" and r.status == "pending" and r.claimed_until
            ]
            if len(held) >= count:
                return
            await asyncio.sleep(0.02)


def requests(fake: FakeTelegram) -> list[Call]:
    """What reached Telegram and was taken, in the order it arrived."""
    return [
        c for c in fake.calls if c.method in ("sendMessage", "editMessageText") and c.status == 200
    ]


def phone_of(call: Call) -> str:
    for call_id, phone in CLIENTS.items():
        if phone[-4:] in (call.text or "").replace("-", ""):
            return call_id
    raise AssertionError(f"no client in {call.text!r}")


def is_prompt(call: Call) -> bool:
    return "k:out:" in str(call.params.get("reply_markup") or "")


async def test_pops_of_a_burst_of_calls_go_before_the_edits_waiting_for_the_chat(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    # Two messages at once, then one per 3 s; an edit waits until it leaves room for one.
    sender = make_sender(per_chat_burst=2, per_chat_interval=3.0)
    await sender.start()
    await pbx(deps, "c-1", "ringing")
    await fake_tg.wait_for("sendMessage", 1, within=PATIENCE)
    await pbx(deps, "c-1", "answered")  # its edit now waits for the chat's budget
    sender.wake()
    await claimed_edits(deps, 1)
    await pbx(deps, "c-2", "ringing")
    sender.wake()
    # Answered once its pop went (a pop still waiting needs no edit: it shows the state of
    # the moment it goes).
    await fake_tg.wait_for("sendMessage", 2, within=PATIENCE)
    await pbx(deps, "c-2", "answered")
    sender.wake()
    await claimed_edits(deps, 2)
    await pbx(deps, "c-3", "ringing")
    sender.wake()
    await fake_tg.wait_for("editMessageText", 2, within=PATIENCE)

    sent = requests(fake_tg)
    assert [(c.method, phone_of(c)) for c in sent] == [
        ("sendMessage", "c-1"),
        ("sendMessage", "c-2"),  # at once: the edit before it kept the room for it
        ("sendMessage", "c-3"),  # before both edits, which were claimed before it
        ("editMessageText", "c-1"),
        ("editMessageText", "c-2"),
    ]
    pops = {phone_of(c): c for c in sent if c.method == "sendMessage"}
    for edit in sent[3:]:
        assert "Идёт разговор" in (edit.text or "")
        assert edit.params["message_id"] == pops[phone_of(edit)].result["message_id"]
    assert {r.status for r in await settled(deps)} == {"sent"}


async def test_edits_of_one_message_waiting_together_go_as_one_with_the_latest_state(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    sender = make_sender(per_chat_burst=1, per_chat_interval=INTERVAL)
    await sender.start()
    await pbx(deps, "c-1", "ringing")
    [pop] = await fake_tg.wait_for("sendMessage", 1, within=PATIENCE)
    await pbx(deps, "c-1", "answered")
    sender.wake()
    await claimed_edits(deps, 1)  # "answered" waits for the chat's budget...
    await ended(deps, "c-1", talk_seconds=75)  # ...when the call ends: a second edit
    sender.wake()
    await claimed_edits(deps, 2)
    await fake_tg.wait_for("editMessageText", 1, within=PATIENCE)
    await asyncio.sleep(INTERVAL + 0.5)  # time for a second edit, if one were coming

    sent = requests(fake_tg)
    assert [c.method for c in sent] == ["sendMessage", "sendMessage", "editMessageText"]
    assert is_prompt(sent[1])  # the post-call prompt, a new message, before the edit
    edit = sent[2]
    assert edit.params["message_id"] == pop.result["message_id"]
    assert "Звонок завершён, 1:15" in (edit.text or "")
    assert not any("Идёт разговор" in (c.text or "") for c in sent)  # the outdated state
    rows = await settled(deps)
    edits = [r for r in rows if r.kind == "call_update"]
    assert len(edits) == 2
    assert {r.status for r in rows} == {"sent"}


async def test_the_next_pop_does_not_wait_for_telegrams_answer_to_an_edit(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    sender = make_sender()  # the default budget: an edit keeps room for the next pop
    await sender.start()
    await pbx(deps, "c-1", "ringing")
    await fake_tg.wait_for("sendMessage", 1, within=PATIENCE)
    fake_tg.delay = SLOW_ANSWER  # Telegram answers slowly from now on
    await pbx(deps, "c-1", "answered")
    sender.wake()
    await claimed_edits(deps, 1)
    await asyncio.sleep(0.3)  # the edit's request is at Telegram, waiting for its answer
    await pbx(deps, "c-2", "ringing")
    sender.wake()
    [edit] = await fake_tg.wait_for("editMessageText", 1, within=PATIENCE)
    pops = await fake_tg.wait_for("sendMessage", 2, within=PATIENCE)

    # (`at` is when a request reached the fake, before its slow answer.)
    assert pops[1].at < edit.at + SLOW_ANSWER  # it went while the edit was unanswered
    assert phone_of(pops[1]) == "c-2" and "Идёт разговор" in (edit.text or "")


async def test_a_sender_killed_while_edits_wait_loses_and_doubles_nothing(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender, clock: ShiftedClock
) -> None:
    crashed = make_sender(per_chat_burst=1, per_chat_interval=INTERVAL * 4)
    await crashed.start()
    await pbx(deps, "c-1", "ringing")
    [pop] = await fake_tg.wait_for("sendMessage", 1, within=PATIENCE)
    await _until_recorded(deps, "incoming_call")
    await pbx(deps, "c-1", "answered")
    crashed.wake()
    await claimed_edits(deps, 1)
    await ended(deps, "c-1", talk_seconds=65)
    crashed.wake()
    await claimed_edits(deps, 2)  # the prompt and both edits held, waiting for the chat
    for task in asyncio.all_tasks():  # the process dies: nothing is handed back
        if (task.get_name() or "").startswith("outbox-"):
            task.cancel()
    await asyncio.sleep(0.05)
    assert len(requests(fake_tg)) == 1

    restarted = make_sender()
    await restarted.start()
    clock.advance(seconds=121)  # the dead sender's lease runs out
    restarted.wake()
    await fake_tg.wait_for("editMessageText", 1, within=PATIENCE)
    await asyncio.sleep(0.5)

    sent = requests(fake_tg)
    assert [c.method for c in sent] == ["sendMessage", "sendMessage", "editMessageText"]
    assert is_prompt(sent[1])
    assert sent[2].params["message_id"] == pop.result["message_id"]
    assert "Звонок завершён, 1:05" in (sent[2].text or "")
    assert "Звонок завершён, 1:05" in (
        fake_tg.message(ANNA_TG, pop.result["message_id"]) or {}
    ).get("text", "")
    assert {r.status for r in await settled(deps)} == {"sent"}


async def test_a_sender_stopped_while_edits_wait_gives_them_back_for_the_next(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    first = make_sender(per_chat_burst=1, per_chat_interval=INTERVAL * 4)
    await first.start()
    await pbx(deps, "c-1", "ringing")
    [pop] = await fake_tg.wait_for("sendMessage", 1, within=PATIENCE)
    await pbx(deps, "c-1", "answered")
    first.wake()
    await claimed_edits(deps, 1)
    await first.stop()  # a deploy

    rows = await stored(deps)
    assert [(r.kind, r.status) for r in rows] == [
        ("incoming_call", "sent"),
        ("call_update", "pending"),
    ]
    assert rows[0].message_id == pop.result["message_id"]
    assert all(r.claimed_until is None for r in rows)  # given back, not left to a lease

    second = make_sender()
    await second.start()
    [edit] = await fake_tg.wait_for("editMessageText", 1, within=PATIENCE)
    assert edit.params["message_id"] == pop.result["message_id"]
    assert "Идёт разговор" in (edit.text or "")
    assert {r.status for r in await settled(deps)} == {"sent"}
    assert len(fake_tg.sent("sendMessage")) == 1


async def _until_recorded(deps: BotDeps, kind: str) -> None:
    async with asyncio.timeout(PATIENCE):
        while True:
            async with deps.sessions() as session:
                row = await session.scalar(select(Notification).where(Notification.kind == kind))
            if row is not None and row.status == "sent":
                return
            await asyncio.sleep(0.02)
