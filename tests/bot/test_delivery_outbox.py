"""Outbox delivery through the real aiogram Bot to the fake Bot API: limits, failures, restarts."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.bot_component import watch_commits
from bot.delivery import OutboxSender
from bot.deps import BotDeps
from core.config import CoreConfig
from core.models import User
from tests.bot.conftest import MakeSender
from tests.bot.helpers_delivery import (
    ShiftedClock,
    context_of,
    gaps,
    most_in_any_window,
    plain_render,
    queue,
    real_time_deps,
    settled,
    until_sent,
)
from tests.factories import make_user
from tests.fakes.telegram_api import FakeTelegram

CHAT = 5001


@pytest.fixture
def shifted_clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def deps(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, shifted_clock: ShiftedClock
) -> BotDeps:
    return real_time_deps(sessions, config, shifted_clock)


@pytest.fixture
def sender_defaults() -> dict[str, Any]:
    """These senders send the payload's text (the delivery, not the notification texts)."""
    return {"poll_interval": 0.05, "render": plain_render}


async def test_due_notifications_are_sent_once_and_marked_sent(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    await queue(deps, ["one", "two", "three"], chats=[1, 2, 3])
    sender = make_sender()
    await sender.start()

    await fake_tg.wait_for("sendMessage", 3)
    await asyncio.sleep(0.3)  # several more claim rounds

    assert sorted(c.text or "" for c in fake_tg.sent()) == ["one", "three", "two"]
    rows = await settled(deps)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * 3
    assert all(r.sent_at is not None and r.claimed_until is None for r in rows)


async def test_a_commit_wakes_the_sender_before_its_next_poll(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender, engine: AsyncEngine
) -> None:
    """The process's own wiring (app.bot_component.watch_commits) wakes the sender when a
    commit that inserted notifications completes; nothing here calls `wake()` by hand."""
    sender = make_sender(poll_interval=30.0)
    unwatch = watch_commits(engine, sender.wake)
    try:
        await sender.start()
        await asyncio.sleep(0.1)  # the first (empty) claim is done; the next poll is 30 s away

        await queue(deps, ["ring"], chat_id=CHAT)

        await fake_tg.wait_for("sendMessage", 1, within=2.0)
    finally:
        unwatch()


async def test_a_commit_without_notifications_does_not_wake_the_sender(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender, engine: AsyncEngine
) -> None:
    woken: list[int] = []
    unwatch = watch_commits(engine, lambda: woken.append(1))
    try:
        async with deps.sessions() as session:
            await session.execute(select(User.id).limit(1))
            await session.commit()
        assert woken == []
        await queue(deps, ["ring"], chat_id=CHAT)
        assert woken == [1]
    finally:
        unwatch()


async def test_nothing_is_lost_while_telegram_refuses_connections(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    await fake_tg.go_offline()
    await queue(deps, [f"m{i}" for i in range(5)], chats=[10, 11, 12, 13, 14])
    sender = make_sender()
    await sender.start()
    await asyncio.sleep(1.2)  # several failed rounds

    rows = await settled(deps)
    assert {r.status for r in rows} == {"pending"}
    assert all(r.attempts == 0 for r in rows)  # an outage does not use up attempts
    assert any("TelegramNetworkError" in (r.last_error or "") for r in rows)

    await fake_tg.go_online()
    await fake_tg.wait_for("sendMessage", 5, within=10.0)
    await asyncio.sleep(0.3)
    assert sorted(c.text or "" for c in fake_tg.sent()) == [f"m{i}" for i in range(5)]
    assert {r.status for r in await settled(deps)} == {"sent"}


async def test_server_errors_are_retried_with_backoff_until_delivered_once(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    fake_tg.fail("sendMessage", 500, times=3)
    await queue(deps, ["after the outage"], chat_id=CHAT)
    sender = make_sender(per_chat_interval=0.05)
    await sender.start()

    await fake_tg.wait_for("sendMessage", 1, within=10.0)

    tries = [c for c in fake_tg.calls if c.method == "sendMessage"]
    assert [c.status for c in tries] == [500, 500, 500, 200]
    waits = gaps(tries)
    assert waits[0] >= 0.45 and waits[1] >= 0.95 and waits[2] >= 1.95  # the pause doubles
    assert [r.status for r in await settled(deps)] == ["sent"]


async def test_flood_control_waits_retry_after_then_sends_once(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    fake_tg.fail("sendMessage", 429, retry_after=1)
    await queue(deps, ["slow down"], chat_id=CHAT)
    sender = make_sender()
    await sender.start()

    await fake_tg.wait_for("sendMessage", 1, within=5.0)

    tries = [c for c in fake_tg.calls if c.method == "sendMessage"]
    assert [c.status for c in tries] == [429, 200]
    assert gaps(tries)[0] >= 0.95
    assert [r.status for r in await settled(deps)] == ["sent"]


async def test_after_flood_control_a_chat_gets_no_fresh_burst(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    fake_tg.fail("sendMessage", 429, retry_after=1)
    await queue(deps, ["a", "b", "c"], chat_id=CHAT)
    sender = make_sender(per_chat_burst=3)
    await sender.start()

    await fake_tg.wait_for("sendMessage", 3, within=6.0)

    sent = fake_tg.sent()
    assert [c.text for c in sent] == ["a", "b", "c"]
    assert min(gaps(sent)) >= 0.95  # one a second after the 429, not three at once


async def test_a_long_retry_after_goes_back_to_the_outbox_uncounted(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender, shifted_clock: ShiftedClock
) -> None:
    fake_tg.fail("sendMessage", 429, retry_after=120)
    await queue(deps, ["later"], chat_id=CHAT)
    sender = make_sender()
    await sender.start()
    await asyncio.sleep(0.5)

    [row] = await settled(deps)
    assert (row.status, row.attempts, row.claimed_until) == ("pending", 0, None)
    assert fake_tg.sent() == []
    shifted_clock.advance(seconds=121)

    await fake_tg.wait_for("sendMessage", 1, within=3.0)


async def test_a_user_who_blocked_the_bot_is_marked_inactive(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    async with context_of(deps) as ctx:
        blocker = await make_user(ctx, "Борис", tg=7001)
        other = await make_user(ctx, "Вера", tg=7002)
        blocker_id, other_id = blocker.id, other.id
    fake_tg.fail("sendMessage", 403, chat_id=7001)
    await queue(deps, ["to boris"], chat_id=7001, user_id=blocker_id)
    await queue(deps, ["to vera"], chat_id=7002, user_id=other_id)
    sender = make_sender()
    await sender.start()

    await fake_tg.wait_for("sendMessage", 1)
    await asyncio.sleep(0.3)

    async with deps.sessions() as session:
        assert (await session.get(User, blocker_id)).active is False  # type: ignore[union-attr]
        assert (await session.get(User, other_id)).active is True  # type: ignore[union-attr]
    by_text = {r.payload["text"]: r for r in await settled(deps)}
    assert by_text["to boris"].status == "failed"
    assert "blocked" in (by_text["to boris"].last_error or "")
    assert by_text["to vera"].status == "sent"


async def test_the_global_rate_is_respected(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    count, rate = 40, 20.0
    await queue(deps, [f"n{i}" for i in range(count)], chats=list(range(100, 100 + count)))
    sender = make_sender(rate=rate)
    await sender.start()

    calls = await fake_tg.wait_for("sendMessage", count, within=10.0)

    assert most_in_any_window(calls, 1.0) <= rate * 1.1 + 1
    spread = calls[-1].at - calls[0].at
    assert spread >= (count - rate * 0.1 - 1) / rate * 0.95
    # ... and close to it: at least 90% of the configured rate (the benchmark's figure).
    assert (count - 1) / spread >= rate * 0.9


async def test_one_chat_gets_a_short_burst_then_one_message_a_second_in_order(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    texts = [f"m{i}" for i in range(5)]
    await queue(deps, texts, chat_id=CHAT)
    await queue(deps, ["elsewhere"], chat_id=CHAT + 1)
    sender = make_sender(per_chat_burst=3)
    await sender.start()

    calls = await fake_tg.wait_for("sendMessage", 6, within=8.0)

    to_chat = [c for c in calls if c.chat_id == CHAT]
    assert [c.text for c in to_chat] == texts
    assert to_chat[2].at - to_chat[0].at < 0.5  # the burst goes at once
    # then the budget refills at one a second, counted from the first of the burst
    assert to_chat[3].at - to_chat[0].at >= 0.95 and to_chat[4].at - to_chat[3].at >= 0.95
    assert most_in_any_window(to_chat, 1.5) <= 3 + 1
    other = next(c for c in calls if c.chat_id == CHAT + 1)
    assert other.at - to_chat[0].at < 0.5  # another chat does not wait for this one


async def test_without_a_burst_a_chat_gets_one_message_a_second(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    await queue(deps, ["first", "second", "third"], chat_id=CHAT)
    sender = make_sender(per_chat_burst=1)
    await sender.start()

    calls = await fake_tg.wait_for("sendMessage", 3, within=6.0)

    assert [c.text for c in calls] == ["first", "second", "third"]
    assert min(gaps(calls)) >= 0.95


async def test_a_ringing_card_goes_before_messages_its_chat_was_already_waiting_for(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    """Greetings fill the chat's queue up to what it holds in memory; a call rings: its card
    is the next message (not pushed back to the database with the routine overflow), and the
    post-call prompt queued with it comes right after it, before the greetings."""
    await queue(deps, [f"greeting {i}" for i in range(5)], chat_id=CHAT)
    sender = make_sender(per_chat_burst=1, per_chat_interval=0.5)
    await sender.start()
    await fake_tg.wait_for("sendMessage", 1, within=3.0)
    await queue(deps, ["greeting 5", "greeting 6"], chat_id=CHAT)  # the queue is full now
    sender.wake()
    await asyncio.sleep(0.2)

    await queue(deps, ["after the call"], chat_id=CHAT, kind="post_call")
    await queue(deps, ["ring"], chat_id=CHAT, kind="incoming_call")
    sender.wake()
    calls = await fake_tg.wait_for("sendMessage", 9, within=12.0)

    texts = [c.text for c in calls]
    assert texts[0] == "greeting 0"
    assert texts.index("ring") <= 2  # at most one greeting was already on its way
    assert texts[texts.index("ring") + 1] == "after the call"
    assert sorted(t for t in texts if t and t.startswith("greeting")) == [
        f"greeting {i}" for i in range(7)
    ]


async def test_text_over_telegrams_limit_is_split_into_valid_parts(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    lines = [f"<b>{i}</b> строка с текстом и &amp; знаками" for i in range(400)]
    await queue(deps, ["\n".join(lines)], chat_id=CHAT)
    sender = make_sender(per_chat_interval=0.05)
    await sender.start()

    calls = await fake_tg.wait_for("sendMessage", 3, within=5.0)
    await asyncio.sleep(0.2)

    parts = [c.text or "" for c in fake_tg.sent()]
    assert len(parts) >= 3 and all(len(p) <= 4096 for p in parts)
    assert all(p.count("<b>") == p.count("</b>") for p in parts)
    assert "\n".join(parts).split("\n") == lines  # cut between lines, nothing lost
    assert [r.status for r in await settled(deps)] == ["sent"]
    assert calls[0].chat_id == CHAT


async def test_a_document_is_sent_with_its_caption(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    content = b"PK\x03\x04" + bytes(range(256)) * 100
    extra = {"content_b64": base64.b64encode(content).decode(), "filename": "digest.xlsx"}
    await queue(deps, ["Дайджест за неделю"], chat_id=CHAT, kind="digest", extra=extra)
    sender = make_sender()
    await sender.start()

    [call] = await fake_tg.wait_for("sendDocument", 1)

    assert call.files["document"].content == content
    assert call.files["document"].filename == "digest.xlsx"
    assert call.params["caption"] == "Дайджест за неделю"
    assert fake_tg.sent("sendMessage") == []


async def mid_queue(
    fake: FakeTelegram, deps: BotDeps, make_sender: MakeSender, texts: list[str]
) -> OutboxSender:
    """`texts` queued for one chat and a sender started on them (a message per 0.4 s), once
    two went out."""
    await queue(deps, texts, chat_id=CHAT)
    sender = make_sender(per_chat_interval=0.4)
    await sender.start()
    await fake.wait_for("sendMessage", 2, within=3.0)
    return sender


async def test_a_graceful_restart_mid_queue_sends_nothing_twice(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    texts = [f"q{i}" for i in range(6)]
    first = await mid_queue(fake_tg, deps, make_sender, texts)
    await first.stop()

    second = make_sender(per_chat_interval=0.4)
    await second.start()
    await fake_tg.wait_for("sendMessage", 6, within=6.0)
    await asyncio.sleep(0.5)

    assert [c.text for c in fake_tg.sent()] == texts
    assert {r.status for r in await settled(deps)} == {"sent"}


async def test_a_crash_mid_queue_resends_nothing_once_the_lease_expires(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender, shifted_clock: ShiftedClock
) -> None:
    texts = [f"c{i}" for i in range(5)]
    await mid_queue(fake_tg, deps, make_sender, texts)
    await until_sent(deps, 2)
    # The process dies between two sends (the third waits for the chat's slot): its tasks stop
    # where they are and nothing is handed back. (Dying between Telegram's 200 and the commit
    # that records it is the at-least-once window: that one message would be sent again.)
    for task in asyncio.all_tasks():
        if (task.get_name() or "").startswith("outbox-"):
            task.cancel()
    await asyncio.sleep(0.05)
    sent_before = [c.text for c in fake_tg.sent()]

    restarted = make_sender(per_chat_interval=0.05)
    await restarted.start()
    await asyncio.sleep(0.3)
    assert [c.text for c in fake_tg.sent()] == sent_before  # still leased to the dead sender
    shifted_clock.advance(seconds=121)
    await fake_tg.wait_for("sendMessage", 5, within=5.0)
    await asyncio.sleep(0.3)

    assert [c.text for c in fake_tg.sent()] == texts
    assert {r.status for r in await settled(deps)} == {"sent"}


async def test_nothing_to_render_settles_the_row_as_skipped(
    fake_tg: FakeTelegram, deps: BotDeps, make_sender: MakeSender
) -> None:
    await queue(deps, ["nobody"], user_id=None, chat_id=None, chats=[0])
    sender = make_sender(render=_render_nothing)
    await sender.start()
    await asyncio.sleep(0.3)

    assert [r.status for r in await settled(deps)] == ["skipped"]
    assert fake_tg.sent() == []


async def _render_nothing(*_args: object) -> None:
    return None


def test_split_keeps_tags_balanced_inside_one_long_line() -> None:
    from bot.text_split import split_html

    text = "<i>" + " ".join(f"слово{i}" for i in range(2000)) + "</i>"
    parts = split_html(text)

    assert len(parts) >= 3
    for part in parts:
        assert len(part) <= 4096
        assert part.startswith("<i>") and part.endswith("</i>")
    words = re.sub("<[^>]+>", " ", " ".join(parts)).split()
    assert words == [f"слово{i}" for i in range(2000)]
