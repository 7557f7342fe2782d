"""The company bot as a client channel, end to end through the fake Bot API (issue 17 §1).

Clients and staff talk to the real dispatcher; the real outbox sender delivers the relays and
the answers; the fake records what Telegram was asked to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from bot.delivery import OutboxSender
from bot.dispatcher import build_dispatcher
from core.activities import reminders
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.conversations import sla
from core.models import (
    Activity,
    ChatMessage,
    Contact,
    Conversation,
    Notification,
    User,
)
from tests.bot.conftest import Tg
from tests.bot.helpers_clients import (
    add_staff,
    relays_to,
    reply_to_relay,
    sending,
    timeline,
    to_chat,
    welcome_of,
)
from tests.bot.updates import TgUser, message_update
from tests.conftest import Db
from tests.waits import until

CLIENT = 7001
ANNA, BORIS = 5001, 5002


async def test_a_new_client_is_welcomed_routed_on_duty_and_matched_by_a_shared_phone(
    tg: Tg, sender: OutboxSender
) -> None:
    anna = await add_staff(tg.db, ANNA, "Анна")
    await add_staff(tg.db, BORIS, "Борис", on_duty=True)
    async with tg.db.ctx() as ctx:
        known = await contacts.create_contact(
            ctx,
            actor=Actor.system("test"),
            name="Иван Петров (Вектор)",
            phones=["+79161234567"],
            owner_id=anna.id,
        )
    client = tg.user(CLIENT, "Иван")

    await client.say("Здравствуйте, есть вопрос")
    welcome = await welcome_of(tg.fake, CLIENT)  # by the outbox, with the share-phone button
    assert "менеджер ответит" in (welcome.text or "")
    relayed = await tg.fake.wait_for(where=lambda c: c.chat_id == BORIS)
    assert "Иван" in (relayed[0].text or "") and "есть вопрос" in (relayed[0].text or "")
    assert relayed[0].params["reply_markup"]["inline_keyboard"][0][0]["text"] == "👤 Карточка"
    assert to_chat(tg.fake, CLIENT) == [welcome]  # welcomed once
    assert await timeline(tg.db) == [("in", None), ("out", "welcome")]

    contact_card = {"phone_number": "+7 916 123-45-67", "first_name": "Иван", "user_id": CLIENT}
    # (the sender may be relaying the card meanwhile: only the client's chat counts)
    thanks = [c for c in await client.send(contact=contact_card) if c.chat_id == CLIENT]
    assert "номер у нас есть" in (thanks[0].text or "")
    copied = await tg.fake.wait_for("copyMessage", where=lambda c: c.chat_id == ANNA)
    assert copied[0].params["from_chat_id"] == CLIENT
    async with tg.db.sessions() as session:
        conversation = (await session.scalars(select(Conversation))).one()
        matched = await session.get(Contact, known.id)
        assert conversation.contact_id == known.id
        assert matched is not None and matched.telegram_user_id == CLIENT
        owners = {m.contact_id for m in await session.scalars(select(ChatMessage))}
        assert owners == {known.id}
    assert not to_chat(tg.fake, BORIS, "copyMessage")  # the contact card went to its owner only


async def test_relay_and_answer_by_reply_with_text_and_photo_both_ways(
    tg: Tg, sender: OutboxSender
) -> None:
    anna = await add_staff(tg.db, ANNA, "Анна")
    client = tg.user(CLIENT, "Иван")
    staff = tg.user(ANNA, "Анна")

    await client.say("Сколько стоит доставка?")
    await tg.fake.wait_for(where=lambda c: c.chat_id == ANNA)
    answer = await reply_to_relay(staff, tg.db, text="500 ₽, завтра")
    assert not [c for c in answer if c.method == "sendMessage"]  # not taken for a note
    delivered = await tg.fake.wait_for("copyMessage", where=lambda c: c.chat_id == CLIENT)
    assert delivered[0].params["from_chat_id"] == ANNA

    photo = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
        {"file_id": "big", "file_unique_id": "b", "width": 900, "height": 900, "file_size": 4096},
    ]
    await client.send(photo=photo, caption="вот такой")
    shown = await tg.fake.wait_for("copyMessage", where=lambda c: c.chat_id == ANNA)
    assert "Иван" in shown[0].params["caption"] and "вот такой" in shown[0].params["caption"]
    assert shown[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await until(lambda: _count_relays(tg.db, ANNA, 2))
    await reply_to_relay(staff, tg.db, photo=photo, caption="наш вариант")
    await tg.fake.wait_for("copyMessage", 2, where=lambda c: c.chat_id == CLIENT)

    async def all_sent() -> list[ChatMessage] | None:
        async with tg.db.sessions() as session:
            rows = list(await session.scalars(select(ChatMessage).order_by(ChatMessage.id)))
        return rows if all(r.status in ("sent", "received") for r in rows) else None

    rows = await until(all_sent)
    assert [(r.direction, r.kind) for r in rows] == [
        ("in", "text"),
        ("out", "text"),  # the new client's welcome, sent by the outbox
        ("out", "text"),
        ("in", "photo"),
        ("out", "photo"),
    ]
    assert rows[1].author_label == "welcome" and rows[2].author_user_id == anna.id
    assert rows[3].file_id == "big" and rows[3].file_size == 4096
    assert rows[4].author_user_id == anna.id and rows[4].file_id == "big"
    assert rows[1].telegram_message_id is not None and rows[2].telegram_message_id is not None


async def _count_relays(db: Db, chat: int, n: int) -> bool:
    return len(await relays_to(db, chat)) >= n


async def test_the_reply_task_opens_after_the_sla_is_escalated_and_closed_by_the_answer(
    tg: Tg, sender: OutboxSender
) -> None:
    anna = await add_staff(tg.db, ANNA, "Анна")
    await add_staff(tg.db, 5009, "Мария", role="manager")
    client = tg.user(CLIENT, "Иван")
    staff = tg.user(ANNA, "Анна")
    await client.say("Алло?")
    await tg.fake.wait_for(where=lambda c: c.chat_id == ANNA)

    async def run(use_case: Callable[[Ctx], Any]) -> Any:
        async with tg.db.ctx() as ctx:
            return await use_case(ctx)

    tg.db.clock.advance(minutes=tg.db.config.chat_sla_minutes - 1)
    assert await run(sla.open_due_reply_tasks) == 0
    tg.db.clock.advance(minutes=2)
    assert await run(sla.open_due_reply_tasks) == 1
    assert await run(sla.open_due_reply_tasks) == 0  # one task per conversation
    assert await run(reminders.send_due) == 1  # the owner is told at once
    tg.db.clock.advance(minutes=tg.db.config.chat_sla_minutes + 1)
    escalated = await run(lambda ctx: reminders.escalate_overdue_callbacks(ctx, kind="reply"))
    assert escalated == 1
    assert await run(lambda ctx: reminders.escalate_overdue_callbacks(ctx, kind="reply")) == 0
    async with tg.db.sessions() as session:
        kinds = sorted((await session.scalars(select(Notification.kind))).all())
        task = (await session.scalars(select(Activity))).one()
    assert "callback_escalation" in kinds and "reminder" in kinds
    assert (task.kind, task.status, task.owner_id) == ("reply", "planned", anna.id)

    await reply_to_relay(staff, tg.db, text="Да, слушаю")
    async with tg.db.sessions() as session:
        done = await session.get(Activity, task.id)
        assert done is not None and done.status == "done" and done.result == "answered"


async def test_out_of_hours_the_client_gets_the_auto_reply_once(tg: Tg) -> None:
    # The fake clock stands at Thu 2026-11-26 12:00 Moscow: closed on Thursdays.
    closed = replace(tg.db.config, working_hours="mon-wed 09:00-18:00; fri 09:00-18:00")
    deps = replace(tg.deps, config=closed)
    dp = build_dispatcher(deps)
    await add_staff(tg.db, ANNA, "Анна")

    async def feed(update: dict[str, Any]) -> Any:
        return await dp.feed_raw_update(tg.bot, {"update_id": len(tg.fake.calls) + 1, **update})

    client = TgUser(feed, tg.fake, CLIENT, first_name="Иван", language_code="en")
    await client.say("Hello?")
    await client.say("Anyone?")
    async with tg.db.sessions() as session:
        auto = list(
            await session.scalars(
                select(ChatMessage).where(ChatMessage.author_label == "auto_reply")
            )
        )
        welcome = (
            await session.scalars(select(ChatMessage).where(ChatMessage.author_label == "welcome"))
        ).one()
        queued = list(
            await session.scalars(
                select(Notification)
                .where(Notification.kind == "client_message")
                .order_by(Notification.id)
            )
        )
    assert len(auto) == 1 and "We are closed now" in (auto[0].text or "")
    # The new client's welcome, then the auto-reply once.
    assert [(n.chat_id, n.payload["chat_message_id"]) for n in queued] == [
        (CLIENT, welcome.id),
        (CLIENT, auto[0].id),
    ]
    async with sending(tg.bot, deps):
        got = await tg.fake.wait_for(
            where=lambda c: c.chat_id == CLIENT and "closed" in (c.text or "")
        )
    assert len(got) == 1


async def test_a_new_clients_first_message_waits_for_no_telegram_and_the_welcome_comes_first(
    tg: Tg,
) -> None:
    # Why the welcome goes by the outbox: Telegram's global budget is spent (the next request
    # would wait a minute) and no outbox sender runs; the handler (one of the bot's few
    # polling slots) must not wait for either. Out of hours: the auto-reply comes too.
    closed = replace(tg.db.config, working_hours="mon-wed 09:00-18:00; fri 09:00-18:00")
    deps = replace(tg.deps, config=closed)
    dp = build_dispatcher(deps)
    await add_staff(tg.db, ANNA, "Анна")
    budget = OutboxSender(tg.bot, deps, rate=1 / 60)
    spent = budget.budget_middleware()
    tg.bot.session.middleware(spent)
    await budget.spend(ANNA)  # the last of it

    async def feed(update: dict[str, Any]) -> Any:
        return await dp.feed_raw_update(tg.bot, {"update_id": len(tg.fake.calls) + 1, **update})

    client = TgUser(feed, tg.fake, CLIENT, first_name="Tom", language_code="en")
    async with asyncio.timeout(10):  # a message to Telegram now would take a minute
        assert await client.say("Hello?") == []  # at once, and nothing sent by the handler
    assert await timeline(tg.db) == [("in", None), ("out", "welcome"), ("out", "auto_reply")]
    queued = await tg.db.rows(Notification)
    assert [(n.kind, n.chat_id) for n in queued] == [
        ("client_message", CLIENT),  # the welcome, before anything else to the client
        ("client_relay", ANNA),
        ("client_message", CLIENT),  # the auto-reply
    ]

    tg.bot.session.middleware.unregister(spent)  # Telegram's budget is back
    async with sending(tg.bot, deps):
        welcome = await welcome_of(tg.fake, CLIENT)
        both = await tg.fake.wait_for(count=2, where=lambda c: c.chat_id == CLIENT)
        await tg.fake.wait_for(where=lambda c: c.chat_id == ANNA and "Hello?" in (c.text or ""))

        async def welcome_sent() -> bool:
            return (await tg.db.one(ChatMessage, ChatMessage.author_label == "welcome")).status == (
                "sent"
            )

        await until(welcome_sent)
    assert "a manager will answer" in (welcome.text or "")
    assert both[0] is welcome and "We are closed now" in (both[1].text or "")
    assert "reply_markup" not in both[1].params  # the keyboard comes with the welcome only


async def test_a_flooding_client_is_slowed_with_one_notice_and_not_relayed_each_time(
    tg: Tg,
) -> None:
    strict = replace(tg.db.config, client_rate_per_minute=3)
    deps = replace(tg.deps, config=strict)
    dp = build_dispatcher(deps)
    await add_staff(tg.db, ANNA, "Анна")

    async def feed(update: dict[str, Any]) -> Any:
        return await dp.feed_raw_update(tg.bot, {"update_id": len(tg.fake.calls) + 1, **update})

    client = TgUser(feed, tg.fake, CLIENT, first_name="Иван")
    for index in range(8):
        await client.say(f"сообщение {index}")
    async with sending(tg.bot, deps):
        await tg.fake.wait_for(
            where=lambda c: c.chat_id == CLIENT and "подождите" in (c.text or "")
        )
        await tg.fake.wait_for(count=3, where=lambda c: c.chat_id == ANNA)
        await asyncio.sleep(0.3)  # anything more would have gone by now
    assert len(to_chat(tg.fake, ANNA)) == 3
    notices = [c for c in to_chat(tg.fake, CLIENT) if "подождите" in (c.text or "")]
    assert len(notices) == 1
    async with tg.db.sessions() as session:
        kept = (
            await session.scalars(select(ChatMessage).where(ChatMessage.direction == "in"))
        ).all()
    assert len(kept) == 8  # slowed, not lost


async def test_a_client_who_blocked_the_bot_closes_the_chat_and_the_salesperson_is_told_once(
    tg: Tg, sender: OutboxSender
) -> None:
    await add_staff(tg.db, ANNA, "Анна")
    client = tg.user(CLIENT, "Иван")
    staff = tg.user(ANNA, "Анна")
    await client.say("Вопрос")
    await welcome_of(tg.fake, CLIENT)
    await tg.fake.wait_for(where=lambda c: c.chat_id == ANNA)
    tg.fake.fail("copyMessage", 403, chat_id=CLIENT, times=5)
    await reply_to_relay(staff, tg.db, text="Ответ")
    told = await tg.fake.wait_for(
        where=lambda c: c.chat_id == ANNA and "заблокировал" in (c.text or "")
    )
    assert len(told) == 1
    async with tg.db.sessions() as session:
        conversation = (await session.scalars(select(Conversation))).one()
        welcome, answer = (
            await session.scalars(
                select(ChatMessage).where(ChatMessage.direction == "out").order_by(ChatMessage.id)
            )
        ).all()
        staff_user = (
            await session.scalars(select(User).where(User.telegram_user_id == ANNA))
        ).one()
    assert (conversation.status, conversation.closed_reason) == ("closed", "bot_blocked")
    assert (welcome.author_label, welcome.status) == ("welcome", "sent")  # before the block
    assert answer.status == "failed" and staff_user.active  # the salesperson is not blocked
    refused = await reply_to_relay(staff, tg.db, text="Ещё раз")
    assert "заблокировал бота" in (refused[-1].text or "")

    await client.say("Я снова здесь")  # writing again opens the chat again
    reopened = await tg.db.one(Conversation)
    assert reopened.status == "open"


async def test_write_to_client_from_the_card_and_an_admin_blocks_the_client(
    tg: Tg, sender: OutboxSender
) -> None:
    await add_staff(tg.db, ANNA, "Анна")
    await add_staff(tg.db, 5010, "Админ", role="admin")
    client = tg.user(CLIENT, "Иван")
    staff = tg.user(ANNA, "Анна")
    admin = tg.user(5010, "Админ")
    await client.say("Жду звонка")
    relayed = await tg.fake.wait_for(where=lambda c: c.chat_id == ANNA)

    card = [c for c in await staff.tap(relayed[0], "Карточка") if c.method == "sendMessage"]
    prompt = [c for c in await staff.tap(card[0], "Написать клиенту") if c.method == "sendMessage"]
    assert "Иван" in (prompt[0].text or "")
    done = await staff.say("Позвоню в 15:00")
    assert "Отправлено клиенту" in (done[-1].text or "")
    await tg.fake.wait_for("copyMessage", where=lambda c: c.chat_id == CLIENT)
    assert not [c for c in await staff.say("а это уже поиск") if c.chat_id == CLIENT]

    async with tg.db.sessions() as session:
        contact_id = (await session.scalars(select(Conversation.contact_id))).one()
    sales_card = [c for c in await staff.say("Иван") if c.method == "sendMessage"]
    assert sales_card  # (search answers) the sales card has no Block button:
    assert "Заблокировать" not in str(sales_card[-1].params.get("reply_markup"))
    from bot.callbacks import ContactCb

    notice = await admin.press(ContactCb(action="cblock", id=contact_id).pack())
    assert any("заблокирован" in str(c.params.get("text")) for c in notice)
    before = len(tg.fake.calls)
    quiet = await client.say("Ау?")
    assert quiet == []
    await asyncio.sleep(0.2)
    assert not [c for c in tg.fake.calls[before:] if c.chat_id == ANNA]
    refused = await staff.press(ContactCb(action="cblock", id=contact_id).pack())
    assert not any("заблокирован" in str(c.params.get("text")) for c in refused)


async def test_a_reply_that_comes_before_the_relay_is_recorded_still_reaches_the_client(
    tg: Tg,
) -> None:
    from bot.callbacks import ClientCb

    await add_staff(tg.db, ANNA, "Анна")
    client = tg.user(CLIENT, "Иван")
    staff = tg.user(ANNA, "Анна")
    await client.say("Срочно!")  # no sender running: the relay is not even sent yet
    message = await tg.db.one(ChatMessage, ChatMessage.direction == "in")
    button = {
        "text": "👤 Карточка",
        "callback_data": ClientCb(action="card", id=message.contact_id, message=message.id).pack(),
    }
    replied = {
        "message_id": 424242,
        "date": 0,
        "chat": {"id": ANNA, "type": "private", "first_name": "Анна"},
        "from": {"id": tg.fake.bot_id, "is_bot": True, "first_name": "Bot"},
        "text": "💬 Иван: Срочно!",
        "reply_markup": {"inline_keyboard": [[button]]},
    }
    answered = await staff._run(message_update(staff.user, "Уже звоню", reply_to_message=replied))
    assert not [c for c in answered if c.method == "sendMessage"]  # not a note, no error
    async with tg.db.sessions() as session:
        welcome, out = (
            await session.scalars(
                select(ChatMessage).where(ChatMessage.direction == "out").order_by(ChatMessage.id)
            )
        ).all()
        queued = (
            await session.scalars(
                select(Notification)
                .where(Notification.kind == "client_message")
                .order_by(Notification.id)
            )
        ).all()
    assert welcome.author_label == "welcome" and out.author_user_id is not None
    assert out.conversation_id == message.conversation_id
    assert [(n.chat_id, n.payload["chat_message_id"]) for n in queued] == [
        (CLIENT, welcome.id),
        (CLIENT, out.id),
    ]
