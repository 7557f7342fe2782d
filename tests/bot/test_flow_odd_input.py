"""Odd input never crashes the bot: stickers, files, edits, long texts, RTL marks, bad buttons."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import ContactCb
from core.clock import FakeClock
from core.config import CoreConfig
from core.contacts import service as contacts
from core.users.models import User
from tests.bot.conftest import Feed
from tests.bot.updates import TgUser, answers, make_user, message_update, texts_of
from tests.fakes.telegram_api import FakeTelegram

SELLER_TG = 9301
NOT_TEXT = "Я понимаю текст, контакты и кнопки. Файлы и стикеры не сохраняю."
# A file with no card to go on says how to put it on one (tests/bot/test_flow_documents.py).
NO_CARD = (
    "Чтобы сохранить файл, отправьте его ответом на карточку клиента или сделки "
    "(или откройте карточку кнопкой и пришлите файл)."
)


@pytest.fixture
async def seller(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> User:
    return await make_user(sessions, config, clock, telegram_id=SELLER_TG)


@pytest.mark.parametrize(
    "content",
    [
        {
            "sticker": {
                "file_id": "s1",
                "file_unique_id": "u1",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        },
        {"document": {"file_id": "d1", "file_unique_id": "u2", "file_name": "price.pdf"}},
        {"photo": [{"file_id": "p1", "file_unique_id": "u3", "width": 90, "height": 90}]},
        {"voice": {"file_id": "v1", "file_unique_id": "u4", "duration": 3}},
    ],
)
async def test_stickers_and_files_get_a_sensible_answer(
    content: dict[str, object], feed: Feed, fake_tg: FakeTelegram, seller: User
) -> None:
    expected = NO_CARD if "document" in content or "photo" in content else NOT_TEXT
    assert texts_of(await TgUser(feed, fake_tg, SELLER_TG).send(**content)) == [expected]


async def test_edited_messages_are_ignored(feed: Feed, fake_tg: FakeTelegram, seller: User) -> None:
    user = TgUser(feed, fake_tg, SELLER_TG)
    update = message_update(user.user, "Иванов")
    update["edited_message"] = {**update.pop("message"), "edit_date": 1}
    before = len(fake_tg.calls)
    await feed(update)
    assert fake_tg.calls[before:] == []


async def test_forwarded_text_long_text_rtl_marks_and_emoji(
    feed: Feed, fake_tg: FakeTelegram, seller: User
) -> None:
    user = TgUser(feed, fake_tg, SELLER_TG)
    forwarded = await user.say(
        "Иванов", forward_origin={"type": "hidden_user", "date": 1, "sender_user_name": "X"}
    )
    assert "Ничего не найдено" in texts_of(forwarded)[0]
    assert "Слишком длинный запрос" in texts_of(await user.say("я" * 5000))[0]
    assert texts_of(await user.say("\u200f\u200e\u200b")) == [
        "Напишите имя, компанию, e-mail или телефон для поиска."
    ]
    assert "Ничего не найдено по «🚀🔥»" in texts_of(await user.say("🚀🔥"))[0]
    assert texts_of(await user.say("/nosuchcommand")) == [
        "Не знаю такую команду. /help — что я умею."
    ]


async def test_a_long_note_is_refused_politely_and_the_flow_continues(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    from core.context import Actor, Ctx

    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        contact = await contacts.create_contact(ctx, actor=Actor.of_user(seller), name="Анна")
    user = TgUser(feed, fake_tg, SELLER_TG)
    await user.press(ContactCb(action="note", id=contact.id).pack())
    assert texts_of(await user.say("x" * 4096 + "\n" + "y" * 4096 + "z" * 2000)) == [
        "Текст пустой или слишком длинный (до 10 000 символов)."
    ]
    assert texts_of(await user.say("Короткая заметка")) == ["📝 Заметка добавлена."]


async def test_garbage_and_stale_button_data_get_a_notice(
    feed: Feed, fake_tg: FakeTelegram, seller: User
) -> None:
    user = TgUser(feed, fake_tg, SELLER_TG)
    assert answers(await user.press("zzz")) == ["Эта кнопка устарела."]
    assert answers(await user.press("c:open:abc:0")) == ["Эта кнопка устарела."]
    assert answers(await user.press(ContactCb(action="open", id=99999).pack())) == [
        "Не найдено или уже недоступно."
    ]


async def test_an_unexpected_error_is_logged_with_the_update_id_and_the_user_is_told(
    feed: Feed,
    fake_tg: FakeTelegram,
    seller: User,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(contacts, "search", broken)
    user = TgUser(feed, fake_tg, SELLER_TG)
    with caplog.at_level(logging.ERROR, logger="bot.middlewares"):
        await feed({"update_id": 424242, **message_update(user.user, "Иванов")})
    assert texts_of(fake_tg.calls[-1:]) == ["Что-то пошло не так, попробуйте ещё раз."]
    assert "update 424242 failed" in caplog.text and "database on fire" in caplog.text


async def test_messages_from_bots_are_ignored(feed: Feed, fake_tg: FakeTelegram) -> None:
    update = message_update(
        {"id": 1234, "is_bot": True, "first_name": "OtherBot", "username": "other_bot"}, "hi"
    )
    before = len(fake_tg.calls)
    await feed(update)
    assert fake_tg.calls[before:] == []


async def test_an_unexpected_error_behind_a_button_answers_the_button(
    feed: Feed,
    fake_tg: FakeTelegram,
    seller: User,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from core.contacts import cards

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("card exploded")

    monkeypatch.setattr(cards, "contact_card", broken)
    user = TgUser(feed, fake_tg, SELLER_TG)
    with caplog.at_level(logging.ERROR, logger="bot.middlewares"):
        calls = await user.press(ContactCb(action="open", id=1).pack())
    assert answers(calls) == ["Что-то пошло не так, попробуйте ещё раз."]
    assert "card exploded" in caplog.text
