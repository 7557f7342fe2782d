"""Language switch, giving a contact to a colleague (managers), the card's calls list."""

from __future__ import annotations

from bot.callbacks import ContactCb
from core.calls import service as calls
from core.contacts import service as contacts
from core.contacts.models import Contact
from core.context import Actor
from core.events import CallEvent
from core.users.models import User
from tests.bot.conftest import Tg
from tests.bot.updates import button_data, buttons, sent, texts_of


async def test_lang_switches_texts_and_the_reply_keyboard(tg: Tg) -> None:
    member = await tg.employee(9601)
    user = tg.user(9601)
    menu = sent(await user.say("/lang"))[0]
    switched = sent(await user.tap(menu, "English"))
    assert switched[0].params["reply_markup"]["keyboard"][0][0]["text"] == "📅 Today"
    assert user.current(menu).text == "Language: English."
    async with tg.db.sessions() as session:
        stored = await session.get(User, member.id)
        assert stored is not None and stored.locale == "en"
    assert texts_of(await user.say("📅 Today"))[0].startswith("<b>Today</b>")
    assert texts_of(await user.say("📅 Сегодня"))[0].startswith("<b>Today</b>")


async def test_a_manager_gives_a_contact_to_a_colleague_and_sales_cannot(tg: Tg) -> None:
    manager = await tg.employee(9602, role="manager", name="Мария")
    seller = await tg.employee(9603)
    async with tg.db.ctx() as ctx:
        contact = await contacts.create_contact(ctx, actor=Actor.of_user(manager), name="Анна")
    boss = tg.user(9602)
    card = await boss.open_card(contact.id)
    await boss.tap(card, "Ответственный")
    await boss.tap(card, "Пётр")
    assert "Ответственный: Пётр" in (boss.current(card).text or "")
    async with tg.db.sessions() as session:
        stored = await session.get(Contact, contact.id)
        assert stored is not None and stored.owner_id == seller.id

    sales = tg.user(9603)
    own_card = await sales.open_card(contact.id)
    assert all("Ответственный" not in b["text"] for b in buttons(own_card.params["reply_markup"]))
    refused = await sales.press(ContactCb(action="own", id=contact.id).pack())
    assert [c.params.get("text") for c in refused if c.method == "answerCallbackQuery"] == [
        "Это действие вам недоступно."
    ]


async def test_the_cards_calls_button_lists_calls_with_outcomes(tg: Tg) -> None:
    seller = await tg.employee(9604, extensions=("101",))
    async with tg.db.ctx() as ctx:
        contact = await contacts.create_contact(
            ctx, actor=Actor.of_user(seller), name="Анна", phones=["+79161234567"]
        )
        for kind in ("ringing", "answered", "ended"):
            tg.db.clock.advance(seconds=30)
            await calls.apply_event(
                ctx,
                event=CallEvent(
                    provider="t",
                    provider_call_id="c1",
                    kind=kind,  # type: ignore[arg-type]
                    occurred_at=tg.db.clock.now(),
                    direction="in",
                    client_number="+79161234567",
                    extension="101",
                ),
            )
    user = tg.user(9604)
    card = await user.open_card(contact.id)
    await user.press(button_data(card, "Звонки"), card)
    listed = user.current(card).text or ""
    assert "входящий · отвечен · 0:30" in listed
