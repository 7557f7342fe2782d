"""Planning with natural dates, /today and /week, and the reminder's buttons."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from sqlalchemy import select

from bot.callbacks import ActivityCb, ContactCb
from bot.deps import BotDeps
from bot.notifications import render
from core.activities import service as activities
from core.activities.models import Activity
from core.contacts.models import Contact
from core.context import Actor
from core.models.audit import AuditLog
from core.outbox.models import Notification
from core.users.models import User
from tests.bot.conftest import Tg, employee
from tests.bot.updates import answers, button_data, sent, texts_of
from tests.conftest import Db
from tests.fakes.telegram_api import Call, FakeTelegram

SELLER_TG = 9001
MOSCOW = ZoneInfo("Europe/Moscow")
seller = employee(SELLER_TG)


async def only_activity(db: Db) -> Activity:
    async with db.sessions() as session:
        return (await session.scalars(select(Activity))).one()


@pytest.mark.parametrize(
    ("language", "phrase", "local_due"),
    [
        ("ru", "завтра в 15", datetime(2026, 11, 27, 15, 0, tzinfo=MOSCOW)),
        ("ru", "в пятницу в 10", datetime(2026, 11, 27, 10, 0, tzinfo=MOSCOW)),
        ("en", "tomorrow 3pm", datetime(2026, 11, 27, 15, 0, tzinfo=MOSCOW)),
    ],
)
async def test_plan_with_a_natural_date_and_see_it_in_today(
    tg: Tg, language: str, phrase: str, local_due: datetime, anna: Contact
) -> None:
    if language == "en":
        async with tg.db.sessions() as session:
            seller = (await session.scalars(select(User))).one()
            seller.locale = "en"
            await session.commit()
    user = tg.user(SELLER_TG)
    card = await user.open_card(anna.id)
    prompt = sent(await user.tap(card, "⏰"))[0]
    assert ("завтра в 15" if language == "ru" else "tomorrow 3pm") in (prompt.text or "")

    done = texts_of(await user.say(phrase))[0]
    # Restated with the weekday, so a wrong reading is caught at a glance.
    assert ("пт, 27 ноября, " if language == "ru" else "Fri, 27 November, ") + (
        local_due.strftime("%H:%M")
    ) in done
    activity = await only_activity(tg.db)
    assert activity.due_at == local_due
    assert activity.contact_id == anna.id and activity.remind_at == activity.due_at

    assert "Дел нет" in texts_of(await user.say("/today"))[0] or language == "en"
    tg.db.clock.set(datetime(2026, 11, 27, 6, 0, tzinfo=UTC))  # 9:00 in Moscow, the next day
    today = sent(await user.say("/today"))[0]
    assert local_due.strftime("%d.%m %H:%M") in (today.text or "")
    assert "Анна" in (today.text or "")


async def test_an_unreadable_time_is_asked_again_with_examples(tg: Tg, anna: Contact) -> None:
    user = tg.user(SELLER_TG)
    await user.press(ContactCb(action="plan", id=anna.id).pack())
    for unclear in ("когда-нибудь", "позвонить", "15"):
        reply = texts_of(await user.say(unclear))
        assert reply == [
            "Не понял время. Примеры: «завтра в 15», «в пятницу в 10», «в понедельник утром», "
            "«через 2 часа», «25.12 14:30». Утро — 9:00, день — 13:00, вечер — 18:00."
        ]
    # A day the calendar does not have is named, not turned into a task titled "31.02".
    assert texts_of(await user.say("31.02 10:00")) == [
        "Даты «31.02» нет в календаре. Напишите, например: «25.12 14:30», "
        "«в понедельник утром», «завтра в 15»."
    ]
    assert await tg.db.count(Activity) == 0
    assert "Запланировано" in texts_of(await user.say("через 2 часа"))[0]


async def test_quick_button_plans_tomorrow_at_ten(tg: Tg, anna: Contact) -> None:
    user = tg.user(SELLER_TG)
    prompt = sent(await user.press(ContactCb(action="plan", id=anna.id).pack()))[0]
    await user.tap(prompt, "Завтра 10:00")
    activity = await only_activity(tg.db)
    assert activity.due_at == datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    assert activity.title == "Позвонить: Анна"


async def test_today_lists_overdue_first_and_week_shows_later_days(tg: Tg, seller: User) -> None:
    async with tg.db.ctx() as ctx:
        actor = Actor.of_user(seller)
        now = tg.db.clock.now()
        await activities.plan(
            ctx, actor=actor, title="Сегодня позже", due_at=now + timedelta(hours=2)
        )
        await activities.plan(ctx, actor=actor, title="Просрочено", due_at=now - timedelta(days=1))
        await activities.plan(
            ctx, actor=actor, title="Через три дня", due_at=now + timedelta(days=3)
        )
    user = tg.user(SELLER_TG)

    today = sent(await user.say("📅 Сегодня"))[0].text or ""
    assert today.index("Просрочено") < today.index("Сегодня позже")
    assert "Через три дня" not in today
    week = texts_of(await user.say("/week"))[0]
    assert week.index("Просрочено") < week.index("Сегодня позже") < week.index("Через три дня")


async def send_rendered(
    bot: Bot, fake: FakeTelegram, deps: BotDeps, notification: Notification
) -> Call:
    """What the delivery does: render the notification and send it."""
    async with deps.sessions() as session:
        rendered = await render(session, deps, notification)
    assert rendered is not None
    await bot.send_message(rendered.chat_id, rendered.text, reply_markup=rendered.reply_markup)
    return fake.sent()[-1]


async def reminder_for(
    db: Db,
    seller: User,
    contact: Contact,
) -> tuple[Activity, Notification]:
    async with db.ctx() as ctx:
        activity = await activities.plan(
            ctx,
            actor=Actor.of_user(seller),
            title="Позвонить Анне <срочно>",
            due_at=db.clock.now() + timedelta(minutes=5),
            contact_id=contact.id,
        )
    notification = Notification(
        id=1,
        user_id=seller.id,
        chat_id=SELLER_TG,
        kind="reminder",
        payload={"activity_id": activity.id, "late": False},
        dedupe_key=f"reminder:{activity.id}",
    )
    return activity, notification


async def test_reminder_done_twice_completes_once(tg: Tg, seller: User, anna: Contact) -> None:
    activity, notification = await reminder_for(tg.db, seller, anna)
    message = await send_rendered(tg.bot, tg.fake, tg.deps, notification)
    assert "Позвонить Анне &lt;срочно&gt;" in (message.text or "")
    assert 'href="tel:+79161234567"' in (message.text or "")
    user = tg.user(SELLER_TG)

    first = await user.tap(message, "Готово")
    assert answers(first) == ["Готово!"]
    assert "Статус: выполнено" in (user.current(message).text or "")
    second = await user.press(button_data(message, "Готово"), message)
    assert answers(second) == ["Уже завершено."]

    async with tg.db.sessions() as session:
        stored = await session.get(Activity, activity.id)
        assert (
            stored is not None and stored.status == "done" and stored.done_at == tg.db.clock.now()
        )
    assert await tg.db.count(AuditLog, AuditLog.action == "complete") == 1
    async with tg.db.sessions() as session:
        assert await render(session, tg.deps, notification) is None  # done: nothing to remind


@pytest.mark.parametrize(
    ("label", "remind_at"),
    [
        ("15 мин", datetime(2026, 11, 26, 9, 15, tzinfo=UTC)),
        ("1 час", datetime(2026, 11, 26, 10, 0, tzinfo=UTC)),
        ("Завтра 9:00", datetime(2026, 11, 27, 6, 0, tzinfo=UTC)),
    ],
)
async def test_reminder_snooze(
    tg: Tg, label: str, remind_at: datetime, seller: User, anna: Contact
) -> None:
    activity, notification = await reminder_for(tg.db, seller, anna)
    message = await send_rendered(tg.bot, tg.fake, tg.deps, notification)
    user = tg.user(SELLER_TG)

    calls = await user.tap(message, label)
    assert answers(calls) == [
        f"Напомню {remind_at.astimezone(UTC) + timedelta(hours=3):%d.%m %H:%M}"
    ]
    async with tg.db.sessions() as session:
        stored = await session.get(Activity, activity.id)
        assert stored is not None
        assert (stored.status, stored.remind_at, stored.snooze_count) == ("planned", remind_at, 1)
        assert stored.due_at == activity.due_at


async def test_reminder_reschedule_moves_the_due_time(tg: Tg, seller: User, anna: Contact) -> None:
    activity, notification = await reminder_for(tg.db, seller, anna)
    message = await send_rendered(tg.bot, tg.fake, tg.deps, notification)
    user = tg.user(SELLER_TG)
    await user.tap(message, "Перенести")
    assert "Перенесено на пт, 25 декабря, 14:30" in texts_of(await user.say("25.12 14:30"))[0]
    async with tg.db.sessions() as session:
        stored = await session.get(Activity, activity.id)
        assert stored is not None
        assert stored.due_at == datetime(2026, 12, 25, 11, 30, tzinfo=UTC)


async def test_someone_elses_reminder_buttons_are_refused(
    tg: Tg, seller: User, anna: Contact
) -> None:
    activity, _ = await reminder_for(tg.db, seller, anna)
    await tg.employee(9002, name="Чужой")
    intruder = tg.user(9002)

    for action in ("done", "snooze", "open", "move"):
        data = ActivityCb(action=action, id=activity.id, minutes=15).pack()
        assert answers(await intruder.press(data)) == ["Не найдено или уже недоступно."]
    async with tg.db.sessions() as session:
        stored = await session.get(Activity, activity.id)
        assert stored is not None and (stored.status, stored.snooze_count) == ("planned", 0)


async def test_two_simultaneous_done_taps_complete_once(
    tg: Tg, seller: User, anna: Contact
) -> None:
    activity, _ = await reminder_for(tg.db, seller, anna)
    user = tg.user(SELLER_TG)
    data = ActivityCb(action="done", id=activity.id).pack()

    await asyncio.gather(user.press(data), user.press(data))

    notices = sorted(
        str(c.params.get("text")) for c in tg.fake.calls if c.method == "answerCallbackQuery"
    )
    assert notices == ["Готово!", "Уже завершено."]
    assert await tg.db.count(AuditLog, AuditLog.action == "complete") == 1
