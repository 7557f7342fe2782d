"""Tasks and notes can be changed after the fact (issue 21, defects 3, 4, 5 and 10).

Through the fake Bot API: a task is renamed and deleted from its reminder or the day list (a
deleted task is canceled, audited, and not done); a note is edited and deleted (audited, gone
from the history), follows an edit of the message it came from; a voice note sent in reply
to a card is kept as the client's note and can be fetched back (a photo is a document on the
card: tests/bot/test_flow_documents.py); a bare hour after
noon is asked, not guessed; Done asks for the next step; Snooze keeps the whole reminder.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.callbacks import ContactCb
from core.activities import service as activities
from core.activities.models import Activity
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.errors import PermissionDenied
from core.models.audit import AuditLog
from core.notes import service as notes
from core.notes.models import Note
from core.users.models import User
from tests.bot.conftest import Feed, Tg
from tests.bot.updates import TgUser, answers, buttons, message_update, sent, texts_of
from tests.conftest import Db
from tests.fakes.telegram_api import Call, FakeTelegram

SELLER_TG = 9101
MOSCOW = ZoneInfo("Europe/Moscow")

WORDS = {
    "ru": {
        "rename": "Переименовать",
        "delete": "Удалить",
        "yes": "Да, удалить",
        "renamed": "Переименовано",
        "deleted": "Дело удалено.",
        "edit": "Изменить",
        "note_deleted": "Заметка удалена.",
        "timeline": "История",
        "followed": "✏️ Заметка изменена вслед за сообщением.",
        "next": "Что дальше?",
        "voice": "🎤 Голосовое сообщение",
        "file": "Получить файл",
        "done": "Готово",
        "snooze": "15 мин",
        "snoozed": "⏰ Напомню",
    },
    "en": {
        "rename": "Rename",
        "delete": "Delete",
        "yes": "Yes, delete",
        "renamed": "Renamed",
        "deleted": "Task deleted.",
        "edit": "Edit",
        "note_deleted": "Note deleted.",
        "timeline": "Timeline",
        "followed": "✏️ The note follows the edited message.",
        "next": "What next?",
        "voice": "🎤 Voice message",
        "file": "Get the file",
        "done": "Done",
        "snooze": "15 min",
        "snoozed": "⏰ Reminding at",
    },
}


@pytest.fixture(params=["ru", "en"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def seller(tg: Tg, lang: str) -> User:
    return await tg.employee(SELLER_TG, name="Пётр", locale=lang)


@pytest.fixture
async def task(
    db: Db,
    seller: User,
    anna: Contact,
) -> Activity:
    async with db.ctx() as ctx:
        return await activities.plan(
            ctx,
            actor=Actor.of_user(seller),
            title="Позвонить Анне",
            due_at=db.clock.now() + timedelta(hours=2),
            contact_id=anna.id,
        )


def user_of(feed: Feed, fake: FakeTelegram, lang: str) -> TgUser:
    return TgUser(feed, fake, SELLER_TG, language_code=lang)


async def stored(db: Db, model: Any, id_: int) -> Any:
    async with db.sessions() as session:
        return await session.get(model, id_)


async def audit_actions(db: Db, entity: str) -> list[str]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(AuditLog.action).where(AuditLog.entity == entity).order_by(AuditLog.id)
        )
        return list(rows)


async def open_task_from_today(user: TgUser) -> Call:
    today = sent(await user.say("/today"))[0]
    return sent(await user.tap(today, "Позвонить Анне"))[0]


async def test_a_task_is_renamed_from_its_message(tg: Tg, lang: str, task: Activity) -> None:
    words = WORDS[lang]
    user = user_of(tg.feed, tg.fake, lang)
    reminder = await open_task_from_today(user)
    prompt = sent(await user.tap(reminder, words["rename"]))[0]
    assert "Позвонить Анне" in (prompt.text or "")
    reply = sent(await user.say("Отправить КП Анне"))[0]
    assert words["renamed"] in (reply.text or "") and "Отправить КП Анне" in (reply.text or "")

    renamed = await stored(tg.db, Activity, task.id)
    assert (renamed.title, renamed.status) == ("Отправить КП Анне", "planned")
    assert await audit_actions(tg.db, "activity") == ["plan", "rename"]


async def test_a_task_is_deleted_after_asking_and_is_not_done(
    tg: Tg, lang: str, task: Activity
) -> None:
    words = WORDS[lang]
    user = user_of(tg.feed, tg.fake, lang)
    reminder = await open_task_from_today(user)
    await user.tap(reminder, words["delete"])
    assert (await stored(tg.db, Activity, task.id)).status == "planned"  # asked first
    calls = await user.tap(reminder, words["yes"])
    assert answers(calls) == [words["deleted"]]
    assert buttons(user.current(reminder).params.get("reply_markup")) == []

    deleted = await stored(tg.db, Activity, task.id)
    assert (deleted.status, deleted.done_at) == ("canceled", None)
    assert await audit_actions(tg.db, "activity") == ["plan", "cancel"]
    assert "Позвонить Анне" not in (sent(await user.say("/today"))[0].text or "")


async def test_only_the_owner_or_a_manager_renames_or_deletes(
    tg: Tg, seller: User, task: Activity
) -> None:
    everyone = dataclasses.replace(tg.db.config, visibility="all")
    colleague = await tg.employee(9102, name="Коллега")
    boss = await tg.employee(9103, name="Босс", role="manager")
    async with tg.db.sessions() as session:
        ctx = Ctx(session=session, config=everyone, clock=tg.db.clock)
        with pytest.raises(PermissionDenied):
            await activities.rename(
                ctx, actor=Actor.of_user(colleague), activity_id=task.id, title="Чужое"
            )
        with pytest.raises(PermissionDenied):
            await activities.cancel(ctx, actor=Actor.of_user(colleague), activity_id=task.id)
        renamed = await activities.rename(
            ctx, actor=Actor.of_user(boss), activity_id=task.id, title="От руководителя"
        )
        assert renamed.title == "От руководителя"


async def reply_note(user: TgUser, anna: Contact, text: str) -> tuple[Call, Call]:
    card = await user.open_card(anna.id)
    added = sent(await user.reply(card, text))[0]
    return card, added


async def only_note(db: Db) -> Note | None:
    async with db.sessions() as session:
        return (await session.scalars(select(Note))).one_or_none()


async def test_a_note_is_edited_and_deleted_and_leaves_the_history(
    tg: Tg, lang: str, anna: Contact
) -> None:
    words = WORDS[lang]
    user = user_of(tg.feed, tg.fake, lang)
    _, added = await reply_note(user, anna, "Просила КП до пятницы")
    await user.tap(added, words["edit"])
    edited = sent(await user.say("Просила КП до среды"))[0]
    assert "Просила КП до среды" in (edited.text or "")
    note = await only_note(tg.db)
    assert note is not None and note.text == "Просила КП до среды"

    card = await user.open_card(anna.id)
    await user.tap(card, words["timeline"])  # the history replaces the card
    history = card
    await user.tap(history, "Просила КП до среды")  # the note opens with its buttons
    await user.tap(history, words["delete"])
    assert await only_note(tg.db) is not None  # asked first
    calls = await user.tap(history, words["yes"])
    assert answers(calls) == [words["note_deleted"]]

    assert await only_note(tg.db) is None
    assert await audit_actions(tg.db, "note") == ["create", "update", "delete"]
    await user.tap(history, words["timeline"])
    assert "Просила КП" not in (user.current(history).text or "")


async def test_only_the_author_or_a_manager_changes_a_note(
    tg: Tg, seller: User, anna: Contact
) -> None:
    everyone = dataclasses.replace(tg.db.config, visibility="all")
    colleague = await tg.employee(9102, name="Коллега")
    async with tg.db.sessions() as session:
        ctx = Ctx(session=session, config=everyone, clock=tg.db.clock)
        note = await notes.add_note(
            ctx, actor=Actor.of_user(seller), contact_id=anna.id, text="Моя заметка"
        )
        with pytest.raises(PermissionDenied):
            await notes.edit_note(ctx, actor=Actor.of_user(colleague), note_id=note.id, text="x")
        with pytest.raises(PermissionDenied):
            await notes.delete_note(ctx, actor=Actor.of_user(colleague), note_id=note.id)


async def test_editing_the_message_edits_its_note(tg: Tg, lang: str, anna: Contact) -> None:
    user = user_of(tg.feed, tg.fake, lang)
    card = await user.open_card(anna.id)
    original = message_update(
        user.user, "Перезвонить в среду", reply_to_message=user.bot_message(card)
    )
    await tg.feed(original)
    edit = {**original["message"], "text": "Перезвонить в четверг", "edit_date": int(time.time())}
    before = len(tg.fake.calls)
    await tg.feed({"edited_message": edit})

    note = await only_note(tg.db)
    assert note is not None and note.text == "Перезвонить в четверг"
    assert texts_of(tg.fake.calls[before:]) == [WORDS[lang]["followed"]]
    # An edited message that was never a note changes nothing and says nothing.
    stray = message_update(user.user, "просто текст")["message"]
    before = len(tg.fake.calls)
    await tg.feed({"edited_message": {**stray, "edit_date": int(time.time())}})
    assert texts_of(tg.fake.calls[before:]) == []


async def test_a_voice_reply_to_a_card_is_the_clients_note(
    tg: Tg, lang: str, anna: Contact
) -> None:
    words = WORDS[lang]
    user = user_of(tg.feed, tg.fake, lang)
    card = await user.open_card(anna.id)
    voice = {"file_id": "VOICE-1", "file_unique_id": "uv1", "duration": 4}
    added = sent(await user.send(voice=voice, reply_to_message=user.bot_message(card)))[0]
    note = await only_note(tg.db)
    assert note is not None and (note.kind, note.contact_id) == ("voice", anna.id)

    await user.tap(card, words["timeline"])
    assert words["voice"] in (user.current(card).text or "")
    calls = await user.tap(added, words["file"])
    voices = [c for c in calls if c.method == "sendVoice" and c.status == 200]
    assert [c.params["voice"] for c in voices] == ["VOICE-1"]


async def test_a_bare_hour_after_noon_is_asked(tg: Tg, lang: str, anna: Contact) -> None:
    tg.db.clock.set(datetime(2026, 11, 26, 11, 0, tzinfo=UTC))  # 14:00 in Moscow
    user = user_of(tg.feed, tg.fake, lang)
    await user.press(ContactCb(action="plan", id=anna.id).pack())
    question = sent(await user.say("в 9"))[0]
    assert question.text == ("09:00 или 21:00?" if lang == "ru" else "09:00 or 21:00?")
    async with tg.db.sessions() as session:
        assert (await session.scalars(select(Activity))).first() is None  # nothing guessed
    await user.tap(question, "21:00")
    planned = await tg.db.one(Activity)
    assert planned.due_at == datetime(2026, 11, 26, 21, 0, tzinfo=MOSCOW)


async def test_done_asks_for_the_next_step(
    tg: Tg, lang: str, task: Activity, anna: Contact
) -> None:
    words = WORDS[lang]
    user = user_of(tg.feed, tg.fake, lang)
    reminder = await open_task_from_today(user)
    asked = sent(await user.tap(reminder, words["done"]))
    assert len(asked) == 1 and words["next"] in (asked[0].text or "")
    await user.say("завтра в 15" if lang == "ru" else "tomorrow 3pm")
    async with tg.db.sessions() as session:
        follow = (await session.scalars(select(Activity).where(Activity.id != task.id))).one()
    assert follow.contact_id == anna.id
    assert follow.due_at == datetime(2026, 11, 27, 15, 0, tzinfo=MOSCOW)


async def test_snooze_keeps_the_whole_reminder(tg: Tg, lang: str, task: Activity) -> None:
    words = WORDS[lang]
    user = user_of(tg.feed, tg.fake, lang)
    reminder = await open_task_from_today(user)
    await user.tap(reminder, words["snooze"])
    now = user.current(reminder)
    assert words["snoozed"] in (now.text or "")
    assert "Анна" in (now.text or "") and "+79161234567" in (now.text or "")
    assert words["done"] in " ".join(b["text"] for b in buttons(now.params.get("reply_markup")))
