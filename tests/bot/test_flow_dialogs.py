"""Ways out of any dialog (issue 21 §4): Cancel under every prompt, /cancel, «отмена», and a
menu button pressed mid-dialog asks before dropping what was being typed."""

from __future__ import annotations

import pytest

from bot.callbacks import ContactCb
from core.contacts.models import Contact
from core.notes.models import Note
from tests.bot.conftest import Tg, employee
from tests.bot.updates import buttons, sent, texts_of
from tests.conftest import Db

SELLER_TG = 9301
seller = employee(SELLER_TG)


async def notes_count(db: Db) -> int:
    return await db.count(Note)


@pytest.mark.parametrize("way_out", ["отмена", "Отмена!", "/cancel", "cancel"])
async def test_a_word_or_command_ends_the_note_dialog_without_saving_it(
    tg: Tg, way_out: str, anna: Contact
) -> None:
    user = tg.user(SELLER_TG)
    await user.press(ContactCb(action="note", id=anna.id).pack())
    assert texts_of(await user.say(way_out)) == ["Отменено."]
    assert await notes_count(tg.db) == 0
    # The dialog is over: the next text searches instead of becoming a note.
    assert "Анна" in texts_of(await user.say("анна"))[0]
    assert await notes_count(tg.db) == 0
    assert texts_of(await user.say("/cancel")) == ["Отменять нечего."]


async def test_every_prompt_has_a_cancel_button_that_ends_its_dialog(tg: Tg, anna: Contact) -> None:
    user = tg.user(SELLER_TG)
    for action in ("note", "plan", "deal"):
        prompt = sent(await user.press(ContactCb(action=action, id=anna.id).pack()))[0]
        assert "✖️ Отмена" in [b["text"] for b in buttons(prompt.params["reply_markup"])]
        await user.tap(prompt, "Отмена")
        assert user.current(prompt).text == "Отменено."
    name_prompt = sent(await user.say("➕ Новый контакт"))[0]
    await user.tap(name_prompt, "Отмена")
    assert "Анна" in texts_of(await user.say("анна"))[0]  # a search, not a new contact's name
    assert await tg.db.count(Contact) == 1


async def test_a_menu_button_mid_dialog_asks_before_dropping_the_note(
    tg: Tg, anna: Contact
) -> None:
    user = tg.user(SELLER_TG)
    await user.press(ContactCb(action="note", id=anna.id).pack())
    asked = sent(await user.say("📅 Сегодня"))[0]
    assert asked.text == "Вы не закончили ввод. Бросить его?"
    await user.tap(asked, "Продолжить")
    assert texts_of(await user.say("Просила скидку")) == ["📝 Заметка добавлена."]
    assert await notes_count(tg.db) == 1

    await user.press(ContactCb(action="note", id=anna.id).pack())
    asked = sent(await user.say("📅 Сегодня"))[0]
    await user.tap(asked, "Бросить")
    assert "Сегодня" in (texts_of(await user.say("📅 Сегодня"))[0])
    assert await notes_count(tg.db) == 1
