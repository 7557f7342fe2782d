"""One timeline: calls, notes, deal changes and client messages of both channels (bot and
Business chat, in and out, who wrote, files, edits, deletions) in one order, in the bot's
history and in `GET /api/v1/contacts/{id}/timeline`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from core.contacts.models import Contact
from core.context import Actor
from core.conversations.models import ChatMessage, Conversation
from core.deals import service as deals
from core.notes import service as notes
from tests.bot.conftest import Tg
from tests.bot.updates import sent
from tests.conftest import Db
from tests.factories import make_conversation
from tests.orders_helpers import make_client

SELLER_TG = 7301


def chat_message(
    conversation: Conversation, at: datetime, direction: str, text: str | None, **more: object
) -> ChatMessage:
    return ChatMessage(
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        channel=conversation.channel,
        direction=direction,
        text=text,
        status="received" if direction == "in" else "sent",
        sent_at=at,
        created_at=at,
        extra={},
        history=[],
        **more,
    )


async def history_of(db: Db, seller_id: int) -> Contact:
    """Мария: a bot chat and a Business chat with Анна, a note and a deal, minutes apart."""
    maria = await make_client(db, owner_id=seller_id)
    async with db.ctx() as ctx:
        bot_chat = await ctx.session.scalar(select(Conversation))
        assert bot_chat is not None
        now = db.clock.now()
        business = await make_conversation(
            ctx,
            maria,
            880001,
            telegram_user_id=880001,
            channel="business",
            business_connection_id="bc-1",
            user_id=seller_id,
        )
        ctx.session.add_all(
            [
                chat_message(bot_chat, now + timedelta(minutes=1), "in", "Где мой заказ?"),
                chat_message(
                    business,
                    now + timedelta(minutes=3),
                    "out",
                    "Отправили сегодня",
                    author_user_id=seller_id,
                    edited_at=now + timedelta(minutes=4),
                ),
                chat_message(
                    business,
                    now + timedelta(minutes=5),
                    "in",
                    "Вот реквизиты",
                    kind="document",
                    file_id="F1",
                    file_name="rekvizity.pdf",
                    mime_type="application/pdf",
                    file_size=12345,
                ),
                chat_message(
                    bot_chat,
                    now + timedelta(minutes=6),
                    "in",
                    "ошибся чатом",
                    deleted_at=now + timedelta(minutes=7),
                ),
            ]
        )
        await ctx.session.commit()
        db.clock.advance(minutes=2)
        await notes.add_note(ctx, actor=Actor.system("test"), contact_id=maria.id, text="Звонила")
        db.clock.advance(minutes=6)
        await deals.create(ctx, actor=Actor.system("test"), title="Заказ 5", contact_id=maria.id)
    return maria


async def test_the_rest_timeline_has_messages_of_both_channels_in_order(
    db: Db, read_api: httpx.AsyncClient
) -> None:
    seller = await db.user(telegram_id=SELLER_TG, name="Анна")
    maria = await history_of(db, seller.id)
    page = (await read_api.get(f"/contacts/{maria.id}/timeline")).json()
    second = (await read_api.get(f"/contacts/{maria.id}/timeline?limit=2&offset=2")).json()
    assert page["total"] == 6
    kinds = [entry["kind"] for entry in page["items"]]
    assert kinds == ["deal_change", "message", "message", "message", "note", "message"]
    assert [e["kind"] for e in second["items"]] == kinds[2:4]
    deleted, document, edited, first = (e["item"] for e in page["items"] if e["kind"] == "message")
    assert (first["channel"], first["direction"], first["author"]) == ("bot", "in", None)
    assert first["text"] == "Где мой заказ?" and first["file"] is None
    assert (edited["channel"], edited["direction"]) == ("business", "out")
    assert edited["author"] == "Анна" and edited["author_user_id"] == seller.id
    assert edited["edited"] is True and edited["deleted"] is False
    assert document["kind"] == "document"
    assert document["file"] == {
        "file_name": "rekvizity.pdf",
        "mime_type": "application/pdf",
        "file_size": 12345,
    }
    assert deleted["deleted"] is True and deleted["text"] == "ошибся чатом"


async def test_the_bots_history_shows_who_wrote_on_which_channel(tg: Tg) -> None:
    seller = await tg.employee(SELLER_TG, name="Анна")
    await history_of(tg.db, seller.id)
    user = tg.user(SELLER_TG)
    card = sent(await user.say("Мария"))[0]
    await user.tap(card, "История")
    text = user.current(card).text or ""
    lines = [line for line in text.split("\n") if line.startswith(("💬", "📝", "💼"))]
    assert [line[0] for line in lines] == ["💼", "💬", "💬", "💬", "📝"]  # a page of five
    assert "бот · от клиента (удалено)" in text and "ошибся чатом" in text
    assert "чат · от клиента" in text and "[файл rekvizity.pdf] Вот реквизиты" in text
    assert "чат · клиенту (Анна) (изменено)" in text and "Отправили сегодня" in text
    await user.tap(card, "▶️")
    text = user.current(card).text or ""
    assert "бот · от клиента\nГде мой заказ?" in text


def test_the_companys_own_texts_to_a_client_are_named_in_the_readers_language() -> None:
    """The welcome, the auto-reply and the flood notice are stored by a code (author_label);
    the timeline names them in words, never by that code."""
    from bot.i18n import texts
    from bot.views.messages import timeline_line

    conversation = Conversation(id=1, contact_id=1, channel="bot")
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    expected = {
        "ru": {
            "welcome": "приветствие",
            "auto_reply": "автоответ",
            "flood_notice": "слишком много",
        },
        "en": {
            "welcome": "welcome message",
            "auto_reply": "auto-reply",
            "flood_notice": "too many",
        },
    }
    for locale, words in expected.items():
        for label, word in words.items():
            message = chat_message(conversation, at, "out", "…", author_label=label, kind="text")
            line = timeline_line(texts(locale), message, label, "10:00")
            assert word in line, (locale, label, line)
            assert f"({label})" not in line, (locale, label, line)
