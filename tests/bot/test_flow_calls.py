"""Calls in Telegram: the caller's card while it rings, the post-call prompt, missed calls."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import CallCb
from bot.deps import BotDeps
from bot.notifications import render
from core.activities.models import Activity
from core.calls import service as calls
from core.calls.models import Call
from core.clock import FakeClock
from core.config import CoreConfig
from core.contacts import service as contacts
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.events import CallEvent
from core.notes.models import Note
from core.outbox.models import Notification
from core.users.models import User
from tests.bot.conftest import Feed
from tests.bot.updates import TgUser, answers, make_user, sent, texts_of
from tests.fakes.telegram_api import Call as ApiCall
from tests.fakes.telegram_api import FakeTelegram

SELLER_TG = 9101


@pytest.fixture
async def seller(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> User:
    return await make_user(
        sessions, config, clock, telegram_id=SELLER_TG, name="Пётр", extensions=("101",)
    )


async def pbx(
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    call_id: str,
    kind: str,
    **fields: Any,
) -> None:
    """What the inbox processor does with one normalized PBX event."""
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        event = CallEvent(
            provider="test",
            provider_call_id=call_id,
            kind=kind,  # type: ignore[arg-type]
            occurred_at=clock.now(),
            **fields,
        )
        await calls.apply_event(ctx, event=event)


async def deliver(kind: str, bot: Bot, fake: FakeTelegram, deps: BotDeps) -> list[ApiCall]:
    """Render and send every queued notification of a kind, as the delivery does."""
    async with deps.sessions() as session:
        queued = list(
            await session.scalars(
                select(Notification).where(Notification.kind == kind).order_by(Notification.id)
            )
        )
        before = len(fake.calls)
        for notification in queued:
            rendered = await render(session, deps, notification)
            assert rendered is not None
            await bot.send_message(
                rendered.chat_id, rendered.text, reply_markup=rendered.reply_markup
            )
    return fake.calls[before:]


async def test_ringing_pops_the_callers_card_to_the_extension_that_rings(
    feed: Feed,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    bot_deps: BotDeps,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        await contacts.create_contact(
            ctx,
            actor=Actor.of_user(seller),
            name="Анна Смирнова",
            phones=["+79161234567"],
            company_name="Ромашка",
        )
    await pbx(
        sessions,
        config,
        clock,
        "c1",
        "ringing",
        direction="in",
        client_number="8 916 123-45-67",
        extension="101",
    )

    card = sent(await deliver("incoming_call", tg_bot, fake_tg, bot_deps))
    assert [c.chat_id for c in card] == [SELLER_TG]
    text = card[0].text or ""
    assert "Входящий звонок" in text and "<b>Анна Смирнова</b>" in text and "Ромашка" in text
    user = TgUser(feed, fake_tg, SELLER_TG)
    reply = sent(await user.tap(card[0], "Карточка"))
    assert "<b>Анна Смирнова</b>" in (reply[0].text or "")


async def test_an_unknown_number_rings_as_unknown_with_create(
    feed: Feed,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    bot_deps: BotDeps,
    sessions: async_sessionmaker[AsyncSession],
    seller: User,
) -> None:
    notification = Notification(
        id=1,
        user_id=seller.id,
        chat_id=SELLER_TG,
        kind="incoming_call",
        payload={"call_id": 1, "contact_id": None, "phone": "+79035551234"},
        dedupe_key="ring:1",
    )
    async with sessions() as session:
        rendered = await render(session, bot_deps, notification)
    assert rendered is not None
    assert "неизвестный номер" in rendered.text and "tel:+79035551234" in rendered.text
    await tg_bot.send_message(rendered.chat_id, rendered.text, reply_markup=rendered.reply_markup)
    user = TgUser(feed, fake_tg, SELLER_TG)
    await user.tap(fake_tg.sent()[-1], "Создать контакт")
    assert "Контакт создан" in texts_of(await user.say("Новый клиент"))[0]
    async with sessions() as session:
        contact = (await session.scalars(select(Contact))).one()
    assert contact.name == "Новый клиент" and contact.phones[0].e164 == "+79035551234"


async def test_answered_call_prompt_stores_the_outcome_and_takes_a_note(
    feed: Feed,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    bot_deps: BotDeps,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    await pbx(
        sessions,
        config,
        clock,
        "c2",
        "ringing",
        direction="in",
        client_number="+79161234567",
        extension="101",
    )
    clock.advance(seconds=5)
    await pbx(sessions, config, clock, "c2", "answered", extension="101")
    clock.advance(seconds=125)
    await pbx(sessions, config, clock, "c2", "ended")

    prompt = sent(await deliver("post_call", tg_bot, fake_tg, bot_deps))[0]
    assert "завершён (2:05)" in (prompt.text or "")
    user = TgUser(feed, fake_tg, SELLER_TG)

    assert answers(await user.tap(prompt, "Дозвонился")) == ["Итог: Дозвонился"]
    assert "✅ Дозвонился" in str(user.current(prompt).params["reply_markup"])
    async with sessions() as session:
        call = (await session.scalars(select(Call))).one()
        assert call.outcome == "reached"

    await user.tap(prompt, "Заметка")
    assert texts_of(await user.say("Договорились о встрече")) == ["📝 Заметка добавлена."]
    async with sessions() as session:
        note = (await session.scalars(select(Note))).one()
        assert (note.call_id, note.contact_id) == (call.id, call.contact_id)

    await user.tap(prompt, "Запланировать")
    assert "Запланировано" in texts_of(await user.say("завтра в 11"))[0]
    async with sessions() as session:
        planned = (await session.scalars(select(Activity))).one()
        assert planned.contact_id == call.contact_id


async def test_a_crafted_outcome_for_someone_elses_call_is_refused(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    await pbx(
        sessions,
        config,
        clock,
        "c3",
        "ringing",
        direction="in",
        client_number="+79161234567",
        extension="101",
    )
    await make_user(sessions, config, clock, telegram_id=9102, name="Чужой")
    async with sessions() as session:
        call = (await session.scalars(select(Call))).one()
    intruder = TgUser(feed, fake_tg, 9102)
    data = CallCb(action="out", id=call.id, outcome="wrong_number").pack()
    assert answers(await intruder.press(data)) == ["Не найдено или уже недоступно."]
    async with sessions() as session:
        stored = await session.get(Call, call.id)
        assert stored is not None and stored.outcome is None


async def test_missed_call_sends_the_callback_task_with_done(
    feed: Feed,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    bot_deps: BotDeps,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    await pbx(
        sessions,
        config,
        clock,
        "c4",
        "ringing",
        direction="in",
        client_number="+79161234567",
        extension="101",
    )
    clock.advance(seconds=20)
    await pbx(sessions, config, clock, "c4", "ended", status="missed")

    task = sent(await deliver("missed_call", tg_bot, fake_tg, bot_deps))[0]
    text = task.text or ""
    assert "Пропущенный звонок" in text and 'href="tel:+79161234567"' in text
    due = clock.now() + timedelta(minutes=config.callback_sla_minutes, hours=3)
    assert f"Перезвонить до {due:%d.%m %H:%M}" in text
    user = TgUser(feed, fake_tg, SELLER_TG)
    assert answers(await user.tap(task, "Готово")) == ["Готово!"]
    async with sessions() as session:
        activity = (await session.scalars(select(Activity))).one()
        assert (activity.kind, activity.status) == ("callback", "done")


async def test_call_back_outcome_asks_when_to_call(
    feed: Feed,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    bot_deps: BotDeps,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    await pbx(
        sessions,
        config,
        clock,
        "c5",
        "ringing",
        direction="in",
        client_number="+79161234567",
        extension="101",
    )
    await pbx(sessions, config, clock, "c5", "answered", extension="101")
    clock.advance(seconds=30)
    await pbx(sessions, config, clock, "c5", "ended")
    prompt = sent(await deliver("post_call", tg_bot, fake_tg, bot_deps))[0]
    user = TgUser(feed, fake_tg, SELLER_TG)

    asked = sent(await user.tap(prompt, "Перезвонить"))
    assert "Когда?" in (asked[0].text or "")
    assert "Запланировано" in texts_of(await user.say("через 2 часа"))[0]
    async with sessions() as session:
        call = (await session.scalars(select(Call))).one()
        planned = (await session.scalars(select(Activity))).one()
    assert call.outcome == "callback"
    assert (planned.contact_id, planned.due_at) == (
        call.contact_id,
        clock.now() + timedelta(hours=2),
    )


async def test_a_colleague_who_takes_a_clients_call_can_open_the_card_and_log_it(
    feed: Feed,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    bot_deps: BotDeps,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    """VISIBILITY=own hides Пётр's client from Ольга, but the call rang at her extension:
    the card, a note, the outcome and the next step are hers to log (issue 21 §2)."""
    assert config.visibility == "own"
    colleague = await make_user(
        sessions, config, clock, telegram_id=9103, name="Ольга", extensions=("102",)
    )
    async with sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        client = await contacts.create_contact(
            ctx, actor=Actor.of_user(seller), name="Анна Смирнова", phones=["+79161234567"]
        )
        assert client.owner_id == seller.id
    await pbx(
        sessions,
        config,
        clock,
        "c6",
        "ringing",
        direction="in",
        client_number="+79161234567",
        extension="102",
    )
    pops = sent(await deliver("incoming_call", tg_bot, fake_tg, bot_deps))
    pop = next(p for p in pops if p.chat_id == colleague.telegram_user_id)
    olga = TgUser(feed, fake_tg, 9103)
    card = sent(await olga.tap(pop, "Карточка"))
    assert "<b>Анна Смирнова</b>" in (card[0].text or "")

    await pbx(sessions, config, clock, "c6", "answered", extension="102")
    clock.advance(seconds=90)
    await pbx(sessions, config, clock, "c6", "ended")
    prompts = sent(await deliver("post_call", tg_bot, fake_tg, bot_deps))
    prompt = next(p for p in prompts if p.chat_id == colleague.telegram_user_id)
    await olga.tap(prompt, "Заметка")
    assert texts_of(await olga.say("Просит счёт на 10 штук")) == ["📝 Заметка добавлена."]
    asked = sent(await olga.tap(prompt, "Перезвонить"))
    assert "Когда?" in (asked[0].text or "")
    assert "Запланировано" in texts_of(await olga.say("через 30 минут"))[0]
    async with sessions() as session:
        note = (await session.scalars(select(Note))).one()
        planned = (await session.scalars(select(Activity))).one()
        call = (await session.scalars(select(Call))).one()
    assert (note.contact_id, note.author_id, note.text) == (
        client.id,
        colleague.id,
        "Просит счёт на 10 штук",
    )
    assert (planned.contact_id, planned.owner_id) == (client.id, colleague.id)
    assert call.outcome == "callback"
    # The owner hears what the colleague logged on their client.
    told = sent(await deliver("colleague_note", tg_bot, fake_tg, bot_deps))
    assert [m.chat_id for m in told] == [SELLER_TG]
    assert "Анна Смирнова" in (told[0].text or "") and "Просит счёт на 10 штук" in (
        told[0].text or ""
    )
    assert "Ольга" in (told[0].text or "")


async def test_a_reply_to_the_post_call_prompt_or_the_missed_call_task_is_a_note(
    feed: Feed,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    bot_deps: BotDeps,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    seller: User,
) -> None:
    """Issue 21 §5: replying to «Итог?» or to a missed-call task used to run a search."""
    await pbx(
        sessions,
        config,
        clock,
        "c7",
        "ringing",
        direction="in",
        client_number="+79161234567",
        extension="101",
    )
    await pbx(sessions, config, clock, "c7", "answered", extension="101")
    clock.advance(seconds=60)
    await pbx(sessions, config, clock, "c7", "ended")
    prompt = sent(await deliver("post_call", tg_bot, fake_tg, bot_deps))[0]
    user = TgUser(feed, fake_tg, SELLER_TG)
    assert texts_of(await user.reply(prompt, "Ждёт КП до пятницы")) == ["📝 Заметка добавлена."]

    clock.advance(minutes=5)
    await pbx(
        sessions,
        config,
        clock,
        "c8",
        "ringing",
        direction="in",
        client_number="+79161234567",
        extension="101",
    )
    clock.advance(seconds=20)
    await pbx(sessions, config, clock, "c8", "ended", status="missed")
    task = sent(await deliver("missed_call", tg_bot, fake_tg, bot_deps))[0]
    assert texts_of(await user.reply(task, "Перезвонить после обеда")) == ["📝 Заметка добавлена."]
    async with sessions() as session:
        first = (await session.scalars(select(Call).where(Call.provider_call_id == "c7"))).one()
        rows = list(await session.scalars(select(Note).order_by(Note.id)))
    assert [(n.text, n.contact_id, n.call_id) for n in rows] == [
        ("Ждёт КП до пятницы", first.contact_id, first.id),
        ("Перезвонить после обеда", first.contact_id, None),
    ]
