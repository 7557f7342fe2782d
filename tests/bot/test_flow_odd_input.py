"""Odd input never crashes the bot: stickers, files, edits, long texts, RTL marks, bad buttons."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.callbacks import ContactCb
from core.contacts import service as contacts
from core.users.models import User
from tests.bot.conftest import Tg, employee
from tests.bot.updates import answers, message_update, sticker, texts_of

SELLER_TG = 9301
OOPS = "Что-то пошло не так, попробуйте ещё раз."
NOT_TEXT = "Я понимаю текст, контакты и кнопки. Файлы и стикеры не сохраняю."
# A file with no card to go on says how to put it on one (tests/bot/test_flow_documents.py).
NO_CARD = (
    "Чтобы сохранить файл, отправьте его ответом на карточку клиента или сделки "
    "(или откройте карточку кнопкой и пришлите файл)."
)
seller = employee(SELLER_TG)


@pytest.mark.parametrize(
    "content",
    [
        {"sticker": sticker("s1", "u1")},
        {"document": {"file_id": "d1", "file_unique_id": "u2", "file_name": "price.pdf"}},
        {"photo": [{"file_id": "p1", "file_unique_id": "u3", "width": 90, "height": 90}]},
        {"voice": {"file_id": "v1", "file_unique_id": "u4", "duration": 3}},
    ],
)
async def test_stickers_and_files_get_a_sensible_answer(
    content: dict[str, object], tg: Tg, seller: User
) -> None:
    expected = NO_CARD if "document" in content or "photo" in content else NOT_TEXT
    assert texts_of(await tg.user(SELLER_TG).send(**content)) == [expected]


async def test_edited_messages_are_ignored(tg: Tg, seller: User) -> None:
    user = tg.user(SELLER_TG)
    update = message_update(user.user, "Иванов")
    update["edited_message"] = {**update.pop("message"), "edit_date": 1}
    before = len(tg.fake.calls)
    await tg.feed(update)
    assert tg.fake.calls[before:] == []


async def test_forwarded_text_long_text_rtl_marks_and_emoji(tg: Tg, seller: User) -> None:
    user = tg.user(SELLER_TG)
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


async def test_a_long_note_is_refused_politely_and_the_flow_continues(tg: Tg, seller: User) -> None:
    from core.context import Actor

    async with tg.db.ctx() as ctx:
        contact = await contacts.create_contact(ctx, actor=Actor.of_user(seller), name="Анна")
    user = tg.user(SELLER_TG)
    await user.press(ContactCb(action="note", id=contact.id).pack())
    assert texts_of(await user.say("x" * 4096 + "\n" + "y" * 4096 + "z" * 2000)) == [
        "Текст пустой или слишком длинный (до 10 000 символов)."
    ]
    assert texts_of(await user.say("Короткая заметка")) == ["📝 Заметка добавлена."]


async def test_garbage_and_stale_button_data_get_a_notice(tg: Tg, seller: User) -> None:
    user = tg.user(SELLER_TG)
    assert answers(await user.press("zzz")) == ["Эта кнопка устарела."]
    assert answers(await user.press("c:open:abc:0")) == ["Эта кнопка устарела."]
    assert answers(await user.press(ContactCb(action="open", id=99999).pack())) == [
        "Не найдено или уже недоступно."
    ]


@contextmanager
def _failing(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    target: object,
    name: str,
    why: str,
) -> Iterator[None]:
    """Inside: `target.name` raises RuntimeError(why), and the bot's error log goes to caplog."""

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(why)

    monkeypatch.setattr(target, name, broken)
    with caplog.at_level(logging.ERROR, logger="bot.middlewares"):
        yield


async def test_an_unexpected_error_is_logged_with_the_update_id_and_the_user_is_told(
    tg: Tg, seller: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    user = tg.user(SELLER_TG)
    with _failing(monkeypatch, caplog, contacts, "search", "database on fire"):
        await tg.feed({"update_id": 424242, **message_update(user.user, "Иванов")})
    assert texts_of(tg.fake.calls[-1:]) == [OOPS]
    assert "update 424242 failed" in caplog.text and "database on fire" in caplog.text


async def test_messages_from_bots_are_ignored(tg: Tg) -> None:
    update = message_update(
        {"id": 1234, "is_bot": True, "first_name": "OtherBot", "username": "other_bot"}, "hi"
    )
    before = len(tg.fake.calls)
    await tg.feed(update)
    assert tg.fake.calls[before:] == []


async def test_an_unexpected_error_behind_a_button_answers_the_button(
    tg: Tg, seller: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from core.contacts import cards

    user = tg.user(SELLER_TG)
    with _failing(monkeypatch, caplog, cards, "contact_card", "card exploded"):
        calls = await user.press(ContactCb(action="open", id=1).pack())
    assert answers(calls) == [OOPS]
    assert "card exploded" in caplog.text
