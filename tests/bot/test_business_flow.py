"""Telegram Business end to end: updates fed to the real dispatcher, the real Bot answering
through the fake Bot API server, the outbox rendered as the sender renders it."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from core.contacts.models import Contact
from core.context import Actor
from core.conversations import business
from core.conversations.models import BusinessConnection, ChatMessage, Conversation
from core.users import service as users
from tests.bot.conftest import Tg
from tests.bot.helpers_clients import connected_unannounced
from tests.bot.updates import TgUser, buttons, poll, sticker
from tests.conftest import Db
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_business import BusinessAccount, person

SELLER, COLLEAGUE, STRANGER = 8100, 8200, 8300
CLIENT = person(9001, "Анна", "Клиентова")
OTHER_CLIENT = person(9002, "Борис")


async def logged(db: Db) -> list[ChatMessage]:
    async with db.sessions() as session:
        found = await session.scalars(
            select(ChatMessage).order_by(ChatMessage.sent_at, ChatMessage.id)
        )
        return list(found)


def nothing_sent_on_their_behalf(fake: FakeTelegram) -> bool:
    """No request of the bot ever named a business connection (no reply into their chats)."""
    return all("business_connection_id" not in c.params for c in fake.calls)


@pytest.fixture
async def seller(tg: Tg) -> BusinessAccount:
    await tg.db.user(telegram_id=SELLER, locale="en")
    account = BusinessAccount(SELLER, "Peter")
    await tg.feed(account.connection())
    return account


def seller_chat(tg: Tg) -> TgUser:
    return tg.user(SELLER, "Peter", "en")


async def test_a_salespersons_connection_is_recorded_with_its_rights_and_they_are_told(
    seller: BusinessAccount, tg: Tg
) -> None:
    [connection] = await tg.db.rows(BusinessConnection)
    await tg.deliver()

    assert connection.id == seller.connection_id
    assert (connection.status, connection.is_enabled) == ("active", True)
    assert connection.rights == {"can_reply": True, "can_read_messages": True}
    async with tg.db.ctx() as ctx:
        me = await users.get_by_telegram_id(ctx, telegram_user_id=SELLER)
    assert me is not None and connection.user_id == me.id
    [notice] = tg.fake.sent("sendMessage", chat_id=SELLER)
    assert "Telegram Business is connected" in (notice.text or "")
    assert nothing_sent_on_their_behalf(tg.fake)


async def test_a_strangers_connection_is_refused_logged_and_none_of_its_messages_kept(
    tg: Tg, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = BusinessAccount(STRANGER, "Someone")
    with caplog.at_level(logging.INFO):
        await tg.feed(stranger.connection())
        await tg.feed(stranger.hears(CLIENT, "secret text of a stranger's client"))
        await tg.feed(stranger.says(CLIENT, "the stranger answers"))
    await tg.deliver()

    [connection] = await tg.db.rows(BusinessConnection)
    assert (connection.status, connection.user_id) == ("refused", None)
    assert await logged(tg.db) == []
    assert await tg.db.rows(Contact) == []
    refusals = [r.getMessage() for r in caplog.records if "connection refused" in r.getMessage()]
    assert len(refusals) == 1 and str(STRANGER) in refusals[0]
    assert not any("secret text" in r.getMessage() for r in caplog.records)
    assert stranger.connection_id not in caplog.text
    assert tg.fake.sent("sendMessage") == []
    assert "getBusinessConnection" not in [c.method for c in tg.fake.calls]


async def test_a_deactivated_staff_members_connection_is_refused(tg: Tg) -> None:
    person_gone = await tg.db.user(telegram_id=COLLEAGUE)
    async with tg.db.ctx() as ctx:
        await users.deactivate(ctx, actor=Actor.system("test"), user_id=person_gone.id)
    account = BusinessAccount(COLLEAGUE)
    await tg.feed(account.connection())
    await tg.feed(account.hears(CLIENT, "hello"))

    [connection] = await tg.db.rows(BusinessConnection)
    assert (connection.status, connection.user_id) == ("refused", None)
    assert await logged(tg.db) == []


async def test_messages_both_ways_an_edit_and_a_deletion_land_on_the_clients_timeline(
    seller: BusinessAccount, tg: Tg
) -> None:
    question = seller.hears(CLIENT, "How much is the blue sofa?")
    answer = seller.says(CLIENT, "12 000 rubles")
    await tg.feed(question)
    await tg.feed(question)  # Telegram redelivers: logged once
    await tg.feed(answer)
    await tg.feed(seller.edits(answer, "11 500 rubles, a discount for you"))
    await tg.feed(seller.deletes(CLIENT, question))
    await tg.deliver()

    [contact] = await tg.db.rows(Contact)
    [conversation] = await tg.db.rows(Conversation)
    first, second = await logged(tg.db)
    assert (contact.name, contact.telegram_user_id) == ("Анна Клиентова", CLIENT["id"])
    assert contact.owner_id == conversation.user_id is not None
    assert (conversation.channel, conversation.chat_id) == ("business", CLIENT["id"])
    assert (first.direction, first.text, first.author_user_id) == (
        "in",
        "How much is the blue sofa?",
        None,
    )
    assert first.deleted_at is not None and first.contact_id == contact.id
    assert (second.direction, second.text) == ("out", "11 500 rubles, a discount for you")
    assert second.author_user_id == contact.owner_id and second.edited_at is not None
    assert [h["text"] for h in second.history] == ["12 000 rubles"]
    # One notice for the new chat, with its button; nothing ever sent into the chat itself.
    [_, notice] = tg.fake.sent("sendMessage", chat_id=SELLER)
    assert "Анна Клиентова" in (notice.text or "")
    labels = [b["text"] for b in buttons(notice.params.get("reply_markup"))]
    assert "🚫 Don't log this chat" in labels
    assert nothing_sent_on_their_behalf(tg.fake)


async def test_an_excluded_chat_is_forgotten_and_not_logged_until_included_again(
    seller: BusinessAccount, tg: Tg
) -> None:
    me = seller_chat(tg)
    await tg.feed(seller.hears(CLIENT, "private matter"))
    await tg.feed(seller.hears(OTHER_CLIENT, "an order, please"))
    await tg.deliver()
    notice = next(
        c for c in tg.fake.sent("sendMessage", chat_id=SELLER) if "Анна" in (c.text or "")
    )

    await me.tap(notice, "Don't log this chat")
    await tg.feed(seller.says(CLIENT, "still private"))

    texts = [m.text for m in await logged(tg.db)]
    assert texts == ["an order, please"]
    assert "not logged" in (me.current(notice).params.get("text") or "")

    listing = await me.say("/business")
    [shown] = [c for c in listing if c.method == "sendMessage"]
    assert "connected" in (shown.text or "")
    captions = [b["text"] for b in buttons(shown.params.get("reply_markup"))]
    assert sorted(captions) == ["✅ Борис", "🚫 Анна Клиентова"]

    await me.tap(shown, "Анна")
    await tg.feed(seller.hears(CLIENT, "back to business"))
    assert [m.text for m in await logged(tg.db)] == ["an order, please", "back to business"]
    assert nothing_sent_on_their_behalf(tg.fake)


async def test_another_salesperson_cannot_switch_someone_elses_chat(
    seller: BusinessAccount, tg: Tg
) -> None:
    await tg.db.user(telegram_id=COLLEAGUE, locale="en")
    await tg.feed(seller.hears(CLIENT, "hello"))
    [conversation] = await tg.db.rows(Conversation)
    colleague = tg.user(COLLEAGUE, "Kate", "en")

    calls = await colleague.press(f"b:off:{conversation.id}:n")

    [notice] = [str(c.params.get("text")) for c in calls if c.method == "answerCallbackQuery"]
    assert "not one of yours" in notice
    assert [m.text for m in await logged(tg.db)] == ["hello"]


async def test_a_disabled_connection_stops_logging_at_once_and_the_salesperson_is_told(
    seller: BusinessAccount, tg: Tg
) -> None:
    await tg.feed(seller.hears(CLIENT, "before"))
    await tg.feed(seller.connection(enabled=False))
    await tg.feed(seller.hears(CLIENT, "after"))
    await tg.feed(seller.says(CLIENT, "after, mine"))
    await tg.deliver()

    [connection] = await tg.db.rows(BusinessConnection)
    assert (connection.status, connection.is_enabled) == ("disabled", False)
    assert [m.text for m in await logged(tg.db)] == ["before"]
    told = [c.text or "" for c in tg.fake.sent("sendMessage", chat_id=SELLER)]
    assert any("Telegram Business is off" in text for text in told)

    await tg.feed(seller.connection(enabled=True))
    await tg.feed(seller.hears(CLIENT, "on again"))
    assert [m.text for m in await logged(tg.db)] == ["before", "on again"]


async def test_crafted_updates_for_another_connection_are_ignored(
    seller: BusinessAccount, tg: Tg
) -> None:
    # A message on the seller's connection written by a third account, not by either side.
    intruder = person(STRANGER, "Intruder")
    crafted = seller.message(CLIENT, "pretend", sender=intruder)
    await tg.feed({"business_message": crafted})
    # The seller's connection id claimed for another account.
    await tg.feed(seller.connection(user_id=STRANGER, enabled=False))
    # A connection Telegram does not know.
    forged = BusinessAccount(SELLER, connection_id="forged-connection")
    await tg.feed(forged.hears(CLIENT, "forged"))

    assert await logged(tg.db) == []
    [connection] = await tg.db.rows(BusinessConnection)
    assert (connection.telegram_user_id, connection.status) == (SELLER, "active")
    asked = [c for c in tg.fake.calls if c.method == "getBusinessConnection"]
    assert [(c.params.get("business_connection_id"), c.status) for c in asked] == [
        ("forged-connection", 400)
    ]


async def test_a_connection_missed_earlier_is_asked_of_telegram_and_then_logged(tg: Tg) -> None:
    account = await connected_unannounced(tg.db, tg.fake, SELLER)

    await tg.feed(account.hears(CLIENT, "first"))
    await tg.feed(account.hears(CLIENT, "second"))

    assert [m.text for m in await logged(tg.db)] == ["first", "second"]
    asked = [c for c in tg.fake.calls if c.method == "getBusinessConnection"]
    assert len(asked) == 1


def _as(update: dict[str, Any], **fields: Any) -> dict[str, Any]:
    message = dict(update["business_message"])
    message.pop("text", None)
    message.update(fields)
    return {"business_message": message}


async def test_odd_messages_are_stored_sensibly_or_ignored_never_a_crash(
    seller: BusinessAccount, tg: Tg, caplog: pytest.LogCaptureFixture
) -> None:
    base = seller.hears(CLIENT, None)
    photo = [{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90}]
    photo.append({"file_id": "big", "file_unique_id": "b", "width": 900, "height": 900})
    origin = {
        "type": "channel",
        "date": 1,
        "chat": {"id": -100, "type": "channel"},
        "message_id": 5,
    }
    odd = [
        _as(
            base,
            message_id=1,
            sticker=sticker("st", "st", size=1, emoji="👍"),
        ),
        _as(base, message_id=2, photo=photo),
        _as(
            base,
            message_id=3,
            poll=poll("p", "Which colour?", {"blue": "o1", "red": "o2"}),
        ),
        _as(base, message_id=4, dice={"emoji": "🎲", "value": 6}),
        _as(base, message_id=5, text="a post", forward_origin=origin),
        _as(base, message_id=6, text="x" * 50_000),
        _as(
            base,
            message_id=7,
            pinned_message={
                "message_id": 2,
                "date": 0,
                "chat": {"id": CLIENT["id"], "type": "private"},
            },
        ),
        _as(base, message_id=8, text="in a group", chat={"id": -5, "type": "group", "title": "G"}),
    ]
    with caplog.at_level(logging.INFO):
        for update in odd:
            await tg.feed(update)
        await tg.feed(seller.edits(odd[0], "edited a sticker into text"))
        await tg.feed({"edited_business_message": {**odd[6]["business_message"], "edit_date": 1}})

    kept = {m.telegram_message_id: m for m in await logged(tg.db)}
    assert sorted(kept) == [1, 2, 3, 4, 5, 6]
    assert (kept[1].kind, kept[2].kind, kept[2].file_id, kept[2].text) == (
        "sticker",
        "photo",
        "big",
        None,
    )
    assert kept[1].text == "edited a sticker into text" and kept[1].history[0]["text"] == "👍"
    assert kept[3].extra["poll"]["options"] == ["blue", "red"]
    assert kept[4].extra["dice"] == {"emoji": "🎲", "value": 6}
    assert kept[5].extra["forward_origin"]["type"] == "channel"
    assert len(kept[6].text or "") == business.MAX_TEXT
    assert kept[6].extra["clipped_from"] == 50_000
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("ignored" in r.getMessage() for r in caplog.records)


async def test_the_business_list_says_how_to_connect_when_nothing_is_connected(tg: Tg) -> None:
    await tg.db.user(telegram_id=SELLER, locale="en")
    calls = await seller_chat(tg).say("/business")
    [shown] = [c for c in calls if c.method == "sendMessage"]
    assert "Telegram Business → Chatbots" in (shown.text or "")
    assert f"@{tg.fake.username}" in (shown.text or "")


async def test_a_strangers_business_command_is_refused_like_any_command(tg: Tg) -> None:
    calls = await tg.user(STRANGER).say("/business")
    assert all("Chatbots" not in (c.text or "") for c in calls)
