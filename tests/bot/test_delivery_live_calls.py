"""One live call message, through the whole process: PBX webhook -> outbox -> the fake Bot API.

The screen pop says which way the call goes and at whose line it rings, and is edited in place
as the call is answered and ends; a repeated missed call edits the task's message with the
count and the local time of the last one; the callback closes the task and its buttons go.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.settings import Settings
from core.activities import service as activities
from core.activities.models import Activity
from core.context import Actor, Ctx
from tests.bot.helpers_process import HEADERS, PATIENCE, Running, perezvon, settings, webhook
from tests.factories import make_contact, make_user
from tests.fakes.telegram_api import Call, FakeTelegram

ANNA_TG = 7001  # the client's owner, extension 101
BORIS_TG = 7002  # a colleague, extension 102
CLIENT = "+79161234567"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


async def seed(ctx: Ctx) -> None:
    """Анна, the owner of the client, and her colleague Борис."""
    anna = await make_user(ctx, "Анна", tg=ANNA_TG, extensions=["101"])
    await make_user(ctx, "Борис", tg=BORIS_TG, extensions=["102"])
    await make_contact(ctx, "Пётр Иванов", phones=[CLIENT], owner_id=anna.id)


@pytest.fixture
async def pbx(
    engine: AsyncEngine, fake_tg: FakeTelegram, database_url: str
) -> AsyncIterator[Running]:
    """`perezvon run` in one process (live call messages on, as by default), seeded."""
    async with perezvon(settings(database_url, fake_tg), seed) as running:
        yield running


async def post(pbx: Running, kind: str, call_id: str, **fields: Any) -> None:
    body = webhook(kind, call_id, CLIENT, **fields)
    response = await pbx.http.post("/webhooks/generic", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text


async def ring(pbx: Running, call_id: str, extension: str, **fields: Any) -> None:
    """A client's call starts and rings at `extension`."""
    await post(pbx, "start", call_id, **fields)
    await post(pbx, "ringing", call_id, extension=extension, **fields)


def to(chat: int) -> Any:
    return lambda call: call.chat_id == chat


def buttons(message: dict[str, Any] | None) -> list[str]:
    markup = (message or {}).get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def plain(text: str | None) -> str:
    """What a reader sees: the text without its HTML tags and their attributes."""
    return re.sub(r"<[^>]+>", "", text or "")


def russian_only(text: str | None) -> None:
    """No ISO timestamp and no English word in a Russian message."""
    shown = plain(text)
    assert not ISO.search(shown), shown
    assert not re.search(r"[A-Za-z]{3,}", shown), shown


def message_id_of(fake: FakeTelegram, sent: Call) -> int:
    """The id the fake gave the message a sendMessage made (ask before it is edited)."""
    for message_id in range(1, 1000):
        stored = fake.message(sent.chat_id, message_id)
        if stored is not None and stored["text"] == sent.text:
            return message_id
    raise AssertionError(f"no message for {sent.text!r}")


async def edit_saying(fake: FakeTelegram, chat: int, message_id: int, words: str) -> Call:
    """Wait for the edit of one message that says `words` (Telegram took it)."""
    [edit] = await fake.wait_for(
        "editMessageText",
        1,
        within=PATIENCE,
        where=lambda c: (
            c.chat_id == chat
            and c.params.get("message_id") == message_id
            and c.status == 200
            and words in (c.text or "")
        ),
    )
    return edit


async def test_the_pop_is_edited_in_place_as_the_call_is_answered_and_ends(
    pbx: Running, fake_tg: FakeTelegram
) -> None:
    await ring(pbx, "c-1", "101")
    [pop] = await fake_tg.wait_for("sendMessage", 1, within=PATIENCE)
    pop_id = message_id_of(fake_tg, pop)
    assert "Входящий звонок" in (pop.text or "")
    assert "Идёт разговор" not in (pop.text or "")

    await post(pbx, "answer", "c-1", extension="101")
    answered = await edit_saying(fake_tg, ANNA_TG, pop_id, "Идёт разговор")
    assert "Идёт разговор" in (answered.text or "")

    await post(pbx, "end", "c-1", extension="101", billsec=125, status="answered")
    ended = await edit_saying(fake_tg, ANNA_TG, pop_id, "Звонок завершён")
    await fake_tg.wait_for("sendMessage", 2, within=PATIENCE)  # the post-call prompt

    assert "Звонок завершён, 2:05" in (ended.text or "")
    assert "Пётр Иванов" in (ended.text or "")  # still the client's card
    assert (fake_tg.message(ANNA_TG, pop_id) or {}).get("text") == ended.text
    pops = [c for c in fake_tg.calls if c.method == "sendMessage" and "звонок" in (c.text or "")]
    assert len(pops) == 1  # one live message, not a new one per state
    for call in fake_tg.calls:
        if call.method in ("sendMessage", "editMessageText"):
            russian_only(call.text)


async def test_an_outbound_call_is_announced_as_outgoing(
    pbx: Running, fake_tg: FakeTelegram
) -> None:
    fields = {"direction": "out", "from": "101", "to": CLIENT, "extension": "101"}
    await post(pbx, "start", "o-1", **fields)
    await post(pbx, "ringing", "o-1", **fields)
    [pop] = await fake_tg.wait_for("sendMessage", 1, within=PATIENCE)

    assert pop.chat_id == ANNA_TG
    assert "Исходящий звонок" in (pop.text or "")
    assert "Входящий" not in (pop.text or "")
    russian_only(pop.text)


async def test_the_owners_pop_says_at_whose_line_it_rings_and_who_answered(
    pbx: Running, fake_tg: FakeTelegram
) -> None:
    await ring(pbx, "c-2", "102")
    [owners] = await fake_tg.wait_for("sendMessage", 1, within=PATIENCE, where=to(ANNA_TG))
    [boris] = await fake_tg.wait_for("sendMessage", 1, within=PATIENCE, where=to(BORIS_TG))
    owners_id = message_id_of(fake_tg, owners)

    await post(pbx, "answer", "c-2", extension="102")
    # The "start" may pop the owner before the PBX says where it rings: then an edit
    # adds the line; either way the answer's edit says who took it.
    answered = await edit_saying(fake_tg, ANNA_TG, owners_id, "Идёт разговор")

    assert "Пётр Иванов" in (owners.text or "")
    assert "Звонок на линию" not in (boris.text or "")  # it rings at Борис's own line
    assert "Звонок на линию: Борис" in (answered.text or "")
    assert "Идёт разговор: Борис" in (answered.text or "")
    assert (fake_tg.message(ANNA_TG, owners_id) or {}).get("text") == answered.text
    for call in (owners, boris, answered):
        russian_only(call.text)


async def test_a_repeated_missed_call_edits_the_task_and_the_callback_takes_its_buttons(
    pbx: Running, fake_tg: FakeTelegram
) -> None:
    first_at = int(time.time()) - 120
    again_at = first_at + 60
    for call_id, at in (("m-1", first_at), ("m-2", again_at)):
        await ring(pbx, call_id, "101", timestamp=at)
        await post(pbx, "end", call_id, extension="101", status="missed", timestamp=at + 20)
        if call_id == "m-1":  # the task's message goes out before the second call
            [task] = await fake_tg.wait_for(
                "sendMessage",
                1,
                within=PATIENCE,
                where=lambda c: "Перезвонить до" in (c.text or ""),
            )
            task_id = message_id_of(fake_tg, task)
    counted = await edit_saying(fake_tg, ANNA_TG, task_id, "Пропущено 2 раза")

    # Анна calls back from her extension and the client answers.
    back = {"direction": "out", "from": "101", "to": CLIENT, "extension": "101"}
    await post(pbx, "start", "b-1", **back)
    await post(pbx, "answer", "b-1", **back)
    closed = await edit_saying(fake_tg, ANNA_TG, task_id, "Статус: выполнено")

    async with pbx.container.sessions() as session:
        [activity] = list(await session.scalars(select(Activity)))

    local = datetime.fromtimestamp(again_at, UTC).astimezone(ZoneInfo("Europe/Moscow"))
    assert f"Пропущено 2 раза, последний в {local:%H:%M}" in (counted.text or "")
    assert "✅ Готово" in buttons(counted.params)
    assert buttons(closed.params) == []  # called back: no Done with a past deadline
    assert buttons(fake_tg.message(ANNA_TG, task_id)) == []
    assert activity.status == "done" and activity.missed_count == 2
    assert not activity.notes  # nothing appended for users to read
    assert activity.title == "Перезвонить: Пётр Иванов"  # the team's language, from the locale
    for call in (task, counted, closed):
        russian_only(call.text)


async def test_a_task_done_elsewhere_takes_the_buttons_off_its_missed_call_message(
    pbx: Running, fake_tg: FakeTelegram
) -> None:
    await ring(pbx, "m-3", "101")
    await post(pbx, "end", "m-3", extension="101", status="missed")
    [task] = await fake_tg.wait_for(
        "sendMessage", 1, within=PATIENCE, where=lambda c: "Перезвонить до" in (c.text or "")
    )
    task_id = message_id_of(fake_tg, task)
    assert "✅ Готово" in buttons(task.params)

    async def done_by_api(ctx: Ctx) -> None:  # as REST or a reminder's Done would
        [activity] = list(await ctx.session.scalars(select(Activity)))
        await activities.complete(ctx, actor=Actor.system("test"), activity_id=activity.id)

    await pbx.container.run(done_by_api)
    closed = await edit_saying(fake_tg, ANNA_TG, task_id, "Статус: выполнено")

    assert buttons(closed.params) == []
    assert buttons(fake_tg.message(ANNA_TG, task_id)) == []
    russian_only(closed.text)


@pytest.mark.usefixtures("engine")
async def test_with_live_call_messages_off_the_pop_is_never_edited(
    fake_tg: FakeTelegram, database_url: str
) -> None:
    """PEREZVON_LIVE_CALL_MESSAGES=false (on by default): the pop stays as sent and the call
    still gets its post-call prompt."""
    assert Settings(database_url=database_url).core_config().live_call_messages is True
    async with perezvon(settings(database_url, fake_tg, live_call_messages=False), seed) as pbx:
        await ring(pbx, "c-9", "101")
        await post(pbx, "answer", "c-9", extension="101")
        await post(pbx, "end", "c-9", extension="101", billsec=60, status="answered")
        sent = await fake_tg.wait_for("sendMessage", 2, within=PATIENCE)  # pop, prompt
    assert "Входящий звонок" in (sent[0].text or "")
    assert [c for c in fake_tg.calls if c.method == "editMessageText"] == []
