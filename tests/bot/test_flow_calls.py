"""Calls in Telegram: the caller's card while it rings, the post-call prompt, missed calls."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.callbacks import CallCb
from bot.notifications import render
from core.activities.models import Activity
from core.calls.models import Call
from core.contacts import service as contacts
from core.contacts.models import Contact
from core.context import Actor
from core.notes.models import Note
from core.outbox.models import Notification
from core.users.models import User
from tests.bot.conftest import Tg, employee
from tests.bot.updates import answers, sent, texts_of

SELLER_TG = 9101
seller = employee(SELLER_TG, extensions=("101",))


async def ring(tg: Tg, call_id: str, extension: str = "101") -> None:
    """Анна's number (+79161234567) calls in and rings at `extension`."""
    fields = {"direction": "in", "client_number": "+79161234567", "extension": extension}
    await tg.pbx(call_id, "ringing", **fields)


async def talk(tg: Tg, call_id: str, seconds: int, extension: str = "101") -> None:
    """The ringing call is answered at `extension` and hung up `seconds` later."""
    await tg.pbx(call_id, "answered", extension=extension)
    tg.db.clock.advance(seconds=seconds)
    await tg.pbx(call_id, "ended")


async def test_ringing_pops_the_callers_card_to_the_extension_that_rings(
    tg: Tg, seller: User
) -> None:
    async with tg.db.ctx() as ctx:
        await contacts.create_contact(
            ctx,
            actor=Actor.of_user(seller),
            name="Анна Смирнова",
            phones=["+79161234567"],
            company_name="Ромашка",
        )
    await tg.pbx("c1", "ringing", direction="in", client_number="8 916 123-45-67", extension="101")

    card = sent(await tg.deliver("incoming_call"))
    assert [c.chat_id for c in card] == [SELLER_TG]
    text = card[0].text or ""
    assert "Входящий звонок" in text and "<b>Анна Смирнова</b>" in text and "Ромашка" in text
    user = tg.user(SELLER_TG)
    reply = sent(await user.tap(card[0], "Карточка"))
    assert "<b>Анна Смирнова</b>" in (reply[0].text or "")


async def test_an_unknown_number_rings_as_unknown_with_create(tg: Tg, seller: User) -> None:
    notification = Notification(
        id=1,
        user_id=seller.id,
        chat_id=SELLER_TG,
        kind="incoming_call",
        payload={"call_id": 1, "contact_id": None, "phone": "+79035551234"},
        dedupe_key="ring:1",
    )
    async with tg.db.sessions() as session:
        rendered = await render(session, tg.deps, notification)
    assert rendered is not None
    assert "неизвестный номер" in rendered.text and "tel:+79035551234" in rendered.text
    await tg.bot.send_message(rendered.chat_id, rendered.text, reply_markup=rendered.reply_markup)
    user = tg.user(SELLER_TG)
    await user.tap(tg.fake.sent()[-1], "Создать контакт")
    assert "Контакт создан" in texts_of(await user.say("Новый клиент"))[0]
    contact = await tg.db.one(Contact)
    assert contact.name == "Новый клиент" and contact.phones[0].e164 == "+79035551234"


async def test_answered_call_prompt_stores_the_outcome_and_takes_a_note(
    tg: Tg, seller: User
) -> None:
    await ring(tg, "c2")
    tg.db.clock.advance(seconds=5)
    await talk(tg, "c2", 125)

    prompt = sent(await tg.deliver("post_call"))[0]
    assert "завершён (2:05)" in (prompt.text or "")
    user = tg.user(SELLER_TG)

    assert answers(await user.tap(prompt, "Дозвонился")) == ["Итог: Дозвонился"]
    assert "✅ Дозвонился" in str(user.current(prompt).params["reply_markup"])
    call = await tg.db.one(Call)
    assert call.outcome == "reached"

    await user.tap(prompt, "Заметка")
    assert texts_of(await user.say("Договорились о встрече")) == ["📝 Заметка добавлена."]
    note = await tg.db.one(Note)
    assert (note.call_id, note.contact_id) == (call.id, call.contact_id)

    await user.tap(prompt, "Запланировать")
    assert "Запланировано" in texts_of(await user.say("завтра в 11"))[0]
    planned = await tg.db.one(Activity)
    assert planned.contact_id == call.contact_id


async def test_a_crafted_outcome_for_someone_elses_call_is_refused(tg: Tg, seller: User) -> None:
    await ring(tg, "c3")
    await tg.employee(9102, name="Чужой")
    call = await tg.db.one(Call)
    intruder = tg.user(9102)
    data = CallCb(action="out", id=call.id, outcome="wrong_number").pack()
    assert answers(await intruder.press(data)) == ["Не найдено или уже недоступно."]
    async with tg.db.sessions() as session:
        stored = await session.get(Call, call.id)
        assert stored is not None and stored.outcome is None


async def test_missed_call_sends_the_callback_task_with_done(tg: Tg, seller: User) -> None:
    await ring(tg, "c4")
    tg.db.clock.advance(seconds=20)
    await tg.pbx("c4", "ended", status="missed")

    task = sent(await tg.deliver("missed_call"))[0]
    text = task.text or ""
    assert "Пропущенный звонок" in text and 'href="tel:+79161234567"' in text
    due = tg.db.clock.now() + timedelta(minutes=tg.db.config.callback_sla_minutes, hours=3)
    assert f"Перезвонить до {due:%d.%m %H:%M}" in text
    user = tg.user(SELLER_TG)
    assert answers(await user.tap(task, "Готово")) == ["Готово!"]
    activity = await tg.db.one(Activity)
    assert (activity.kind, activity.status) == ("callback", "done")


async def test_call_back_outcome_asks_when_to_call(tg: Tg, seller: User) -> None:
    await ring(tg, "c5")
    await talk(tg, "c5", 30)
    prompt = sent(await tg.deliver("post_call"))[0]
    user = tg.user(SELLER_TG)

    asked = sent(await user.tap(prompt, "Перезвонить"))
    assert "Когда?" in (asked[0].text or "")
    assert "Запланировано" in texts_of(await user.say("через 2 часа"))[0]
    call = await tg.db.one(Call)
    planned = await tg.db.one(Activity)
    assert call.outcome == "callback"
    assert (planned.contact_id, planned.due_at) == (
        call.contact_id,
        tg.db.clock.now() + timedelta(hours=2),
    )


async def test_a_colleague_who_takes_a_clients_call_can_open_the_card_and_log_it(
    tg: Tg, seller: User
) -> None:
    """VISIBILITY=own hides Пётр's client from Ольга, but the call rang at her extension:
    the card, a note, the outcome and the next step are hers to log (issue 21 §2)."""
    assert tg.db.config.visibility == "own"
    colleague = await tg.employee(9103, name="Ольга", extensions=("102",))
    async with tg.db.ctx() as ctx:
        client = await contacts.create_contact(
            ctx, actor=Actor.of_user(seller), name="Анна Смирнова", phones=["+79161234567"]
        )
        assert client.owner_id == seller.id
    await ring(tg, "c6", "102")
    pops = sent(await tg.deliver("incoming_call"))
    pop = next(p for p in pops if p.chat_id == colleague.telegram_user_id)
    olga = tg.user(9103)
    card = sent(await olga.tap(pop, "Карточка"))
    assert "<b>Анна Смирнова</b>" in (card[0].text or "")

    await talk(tg, "c6", 90, "102")
    prompts = sent(await tg.deliver("post_call"))
    prompt = next(p for p in prompts if p.chat_id == colleague.telegram_user_id)
    await olga.tap(prompt, "Заметка")
    assert texts_of(await olga.say("Просит счёт на 10 штук")) == ["📝 Заметка добавлена."]
    asked = sent(await olga.tap(prompt, "Перезвонить"))
    assert "Когда?" in (asked[0].text or "")
    assert "Запланировано" in texts_of(await olga.say("через 30 минут"))[0]
    note = await tg.db.one(Note)
    planned = await tg.db.one(Activity)
    call = await tg.db.one(Call)
    assert (note.contact_id, note.author_id, note.text) == (
        client.id,
        colleague.id,
        "Просит счёт на 10 штук",
    )
    assert (planned.contact_id, planned.owner_id) == (client.id, colleague.id)
    assert call.outcome == "callback"
    # The owner hears what the colleague logged on their client.
    told = sent(await tg.deliver("colleague_note"))
    assert [m.chat_id for m in told] == [SELLER_TG]
    assert "Анна Смирнова" in (told[0].text or "") and "Просит счёт на 10 штук" in (
        told[0].text or ""
    )
    assert "Ольга" in (told[0].text or "")


async def test_a_reply_to_the_post_call_prompt_or_the_missed_call_task_is_a_note(
    tg: Tg, seller: User
) -> None:
    """Issue 21 §5: replying to «Итог?» or to a missed-call task used to run a search."""
    await ring(tg, "c7")
    await talk(tg, "c7", 60)
    prompt = sent(await tg.deliver("post_call"))[0]
    user = tg.user(SELLER_TG)
    assert texts_of(await user.reply(prompt, "Ждёт КП до пятницы")) == ["📝 Заметка добавлена."]

    tg.db.clock.advance(minutes=5)
    await ring(tg, "c8")
    tg.db.clock.advance(seconds=20)
    await tg.pbx("c8", "ended", status="missed")
    task = sent(await tg.deliver("missed_call"))[0]
    assert texts_of(await user.reply(task, "Перезвонить после обеда")) == ["📝 Заметка добавлена."]
    async with tg.db.sessions() as session:
        first = (await session.scalars(select(Call).where(Call.provider_call_id == "c7"))).one()
        rows = list(await session.scalars(select(Note).order_by(Note.id)))
    assert [(n.text, n.contact_id, n.call_id) for n in rows] == [
        ("Ждёт КП до пятницы", first.contact_id, first.id),
        ("Перезвонить после обеда", first.contact_id, None),
    ]
