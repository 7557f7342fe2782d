"""Client chats: the links that open them, odd input, albums, and who may see what."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.delivery import OutboxSender
from core.contacts import consent
from core.contacts import service as contacts
from core.context import Actor
from core.models import ChatMessage, Contact, Conversation, Notification
from tests.bot.conftest import Tg
from tests.bot.helpers_clients import add_staff, reply_to_relay, timeline, to_chat, welcome_of
from tests.bot.test_clients_flow import ANNA, BORIS, CLIENT
from tests.bot.updates import poll, sticker
from tests.conftest import Db
from tests.waits import until


async def messages(db: Db) -> list[ChatMessage]:
    return await db.rows(ChatMessage)


async def test_the_public_link_keeps_its_source_and_the_greeting_link_opens_the_same_chat(
    tg: Tg,
) -> None:
    anna = await add_staff(tg.db, ANNA, "Анна")
    visitor = tg.user(CLIENT, "Ольга", "en")
    welcome = await visitor.say("/start hello_site-qr")
    assert "Share your phone" in (welcome[0].text or "")
    assert welcome[0].params["reply_markup"]["keyboard"][0][0]["request_contact"] is True

    async with tg.db.ctx() as ctx:
        known = await contacts.create_contact(
            ctx, actor=Actor.system("test"), name="Ксения", owner_id=anna.id
        )
        token = await consent.invite_token(ctx, actor=Actor.system("test"), contact_id=known.id)
    greeted = tg.user(7002, "Ксения")
    subscribed = await greeted.say(f"/start c_{token}")
    assert "greetings" in (subscribed[0].text or "") or "поздравления" in (subscribed[0].text or "")
    await greeted.say("А у вас есть скидки?")
    async with tg.db.sessions() as session:
        chats = {c.chat_id: c for c in await session.scalars(select(Conversation))}
        opted_in = await session.get(Contact, known.id)
    assert chats[CLIENT].source == "site-qr" and chats[CLIENT].language == "en"
    assert chats[7002].contact_id == known.id and chats[7002].source == "greeting"
    assert opted_in is not None and opted_in.telegram_user_id == 7002
    assert (await messages(tg.db))[0].contact_id == known.id

    stopped = await greeted.say("/stop")
    assert stopped  # greetings stop; the client may still write and is relayed
    await greeted.say("Ещё вопрос")
    async with tg.db.sessions() as session:
        relays = list(
            await session.scalars(select(Notification).where(Notification.kind == "client_relay"))
        )
    assert len(relays) == 2


async def test_odd_client_input_is_kept_or_ignored_never_a_crash(
    tg: Tg, sender: OutboxSender, caplog: pytest.LogCaptureFixture
) -> None:
    await add_staff(tg.db, ANNA, "Анна")
    client = tg.user(CLIENT, "Иван")
    await client.say("первое")
    assert "менеджер ответит" in ((await welcome_of(tg.fake, CLIENT)).text or "")
    await client.send(sticker=sticker("st1", "st", emoji="👍"))
    await client.send(poll=poll("p1", "Какой цвет?", {"red": "red", "blue": "blue"}))
    await client.send(dice={"emoji": "🎲", "value": 4})
    await client.say(
        "пост канала",
        forward_origin={
            "type": "channel",
            "date": 0,
            "message_id": 5,
            "chat": {"id": -100123, "type": "channel", "title": "News"},
        },
    )
    await client.say("я" * 4096)
    await client.send(
        video_note={"file_id": "vn1", "file_unique_id": "vn", "length": 240, "duration": 3}
    )
    await client.send(location={"latitude": 55.75, "longitude": 37.61})
    await client.send(
        document={
            "file_id": "doc1",
            "file_unique_id": "d1",
            "file_name": "счёт.pdf",
            "mime_type": "application/pdf",
            "file_size": 2048,
        }
    )
    with caplog.at_level(logging.INFO):
        quiet = await client.send(write_access_allowed={"from_request": True})
    # (the sender may be relaying the earlier ones meanwhile: only the client's chat counts)
    assert not [c for c in quiet if c.chat_id == CLIENT] and "service message" in caplog.text
    first = (await messages(tg.db))[0]
    await client._run(
        {
            "edited_message": {
                "message_id": first.telegram_message_id,
                "date": 0,
                "edit_date": 1,
                "chat": {"id": CLIENT, "type": "private", "first_name": "Иван"},
                "from": client.user,
                "text": "первое, исправленное",
            }
        }
    )

    stored = await messages(tg.db)
    assert [(m.direction, m.author_label) for m in stored[:2]] == [("in", None), ("out", "welcome")]
    stored = [m for m in stored if m.direction == "in"]  # the client's own
    assert [m.kind for m in stored] == [
        "text",
        "sticker",
        "other",
        "other",
        "text",
        "text",
        "video_note",
        "location",
        "document",
    ]
    assert stored[0].text == "первое, исправленное"
    assert stored[0].history[0]["text"] == "первое"
    assert stored[2].text == "Какой цвет?" and stored[3].extra["value"] == 4
    assert stored[4].extra["forwarded"] == "channel"
    assert stored[8].file_name == "счёт.pdf" and stored[8].mime_type == "application/pdf"

    async def everything_relayed() -> bool:
        async with tg.db.sessions() as session:
            rows = list(
                await session.scalars(
                    select(Notification).where(Notification.kind == "client_relay")
                )
            )
        return len(rows) == 9 and all(r.status == "sent" for r in rows)

    await until(everything_relayed)
    giant = [c for c in to_chat(tg.fake, ANNA, "sendMessage") if "яяя" in (c.text or "")]
    assert len(giant) == 2 and all(len(c.text or "") <= 4096 for c in giant)
    assert {c.chat_id for c in tg.fake.calls if c.method in ("copyMessage", "sendMessage")} <= {
        ANNA,
        CLIENT,
    }


async def test_an_album_is_one_entry_relayed_as_one_album(tg: Tg, sender: OutboxSender) -> None:
    await add_staff(tg.db, ANNA, "Анна")
    client = tg.user(CLIENT, "Иван")
    for index in range(3):
        photo = [{"file_id": f"ph{index}", "file_unique_id": f"u{index}", "width": 9, "height": 9}]
        caption = {"caption": "три фото"} if index == 0 else {}
        await client.send(photo=photo, media_group_id="album1", **caption)
    assert await timeline(tg.db) == [("in", None), ("out", "welcome")]  # one entry, one welcome
    stored = await messages(tg.db)
    assert len(stored[0].extra["items"]) == 3
    assert "менеджер ответит" in ((await welcome_of(tg.fake, CLIENT)).text or "")
    tg.db.clock.advance(seconds=2)  # the album waits a second for its last items
    albums = await tg.fake.wait_for("copyMessages", where=lambda c: c.chat_id == ANNA)
    assert len(albums[0].params["message_ids"]) == 3
    header = to_chat(tg.fake, ANNA, "sendMessage")
    assert len(header) == 1 and "три фото" in (header[0].text or "")
    staff = tg.user(ANNA, "Анна")

    async def four_relays() -> bool:  # the header and the three photos: a reply to any answers
        async with tg.db.sessions() as session:
            rows = await session.scalars(
                select(Notification.status).where(Notification.kind == "client_relay")
            )
            return list(rows) == ["sent"]

    await until(four_relays)
    await reply_to_relay(staff, tg.db, text="Красиво")
    await tg.fake.wait_for("copyMessage", where=lambda c: c.chat_id == CLIENT)


async def test_a_reply_reaches_the_client_only_from_someone_who_may_see_them(
    tg: Tg, sender: OutboxSender
) -> None:
    await add_staff(tg.db, ANNA, "Анна")
    boris = await add_staff(tg.db, BORIS, "Борис")
    client = tg.user(CLIENT, "Иван")
    await client.say("Вопрос для Анны")
    await tg.fake.wait_for(where=lambda c: c.chat_id == ANNA)
    assert not to_chat(tg.fake, BORIS)
    async with tg.db.sessions() as session:
        contact = (await session.scalars(select(Contact).where(Contact.source == "bot"))).one()
        contact.owner_id = boris.id  # handed over: Anna (VISIBILITY=own) no longer sees it
        await session.commit()
    anna = tg.user(ANNA, "Анна")
    refused = await reply_to_relay(anna, tg.db, text="Я отвечу")
    assert "Не найдено" in (refused[-1].text or "")
    async with tg.db.sessions() as session:
        out = list(await session.scalars(select(ChatMessage).where(ChatMessage.direction == "out")))
    assert [(m.author_label, m.author_user_id) for m in out] == [("welcome", None)]  # no answer
    await client.say("Ещё вопрос")
    await tg.fake.wait_for(where=lambda c: c.chat_id == BORIS)


async def test_a_staff_member_is_never_taken_for_a_client(
    tg: Tg,
) -> None:
    await add_staff(tg.db, ANNA, "Анна")
    staff = tg.user(ANNA, "Анна")
    await staff.say("Петров")
    await staff.say("/start")
    await staff.send(photo=[{"file_id": "p", "file_unique_id": "p", "width": 9, "height": 9}])
    async with tg.db.sessions() as session:
        assert (await session.scalars(select(Conversation))).all() == []
        assert (await session.scalars(select(ChatMessage))).all() == []


async def test_an_admin_rewrites_the_welcome_and_clients_read_it(
    tg: Tg, sender: OutboxSender
) -> None:
    await add_staff(tg.db, 5010, "Админ", role="admin")
    await add_staff(tg.db, ANNA, "Анна")
    admin = tg.user(5010, "Админ")
    sales = tg.user(ANNA, "Анна")
    listing = await admin.say("/clienttext")
    assert "welcome (ru)" in (listing[0].text or "") and "auto_reply (en)" in (
        listing[0].text or ""
    )
    refused = await sales.say("/clienttext welcome ru Привет")
    assert "недоступно" in (refused[0].text or "")
    saved = await admin.say("/clienttext welcome ru Добрый день! Мы на связи <9:00–18:00>")
    assert "Сохранено" in (saved[0].text or "")
    bad = await admin.say("/clienttext hello ru Привет")
    assert "Сохранено" not in (bad[0].text or "")

    # The welcome goes by the outbox as plain text: the client reads the admin's words as typed.
    await tg.user(CLIENT, "Иван").say("Здравствуйте")
    welcome = await welcome_of(tg.fake, CLIENT)
    assert welcome.text == "Добрый день! Мы на связи <9:00–18:00>"
    await tg.user(7003, "Tom", "en").say("Hi")
    assert "a manager will answer" in ((await welcome_of(tg.fake, 7003)).text or "")
    await admin.say("/clienttext welcome ru")  # back to the built-in text
    await tg.user(7004, "Олег").say("Привет")
    assert "менеджер ответит" in ((await welcome_of(tg.fake, 7004)).text or "")
