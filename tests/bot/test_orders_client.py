"""A client in the company bot: "My orders" lists their open orders with the client-facing
status and amount; "Leave a request" becomes a deal for their owner, who is told."""

from __future__ import annotations

from sqlalchemy import select

from core.context import Actor, Ctx
from core.deals import service as deals
from core.deals.models import Deal
from tests.bot.conftest import Tg
from tests.bot.updates import buttons, texts_of
from tests.orders_helpers import client_stages, deliver, make_client

CLIENT_TG, SELLER_TG = 880001, 7301


async def test_my_orders_lists_open_orders_with_client_facing_names(tg: Tg) -> None:
    maria = await make_client(tg.db, telegram_id=CLIENT_TG)
    async with client_stages(tg.db.sessions), tg.db.sessions() as session:
        ctx = Ctx(session=session, config=tg.db.config, clock=tg.db.clock)
        system = Actor.system("shop")
        await deals.create(ctx, actor=system, title="Черновик", contact_id=maria.id)
        await deals.create(
            ctx, actor=system, title="A-17", contact_id=maria.id, stage="qualified", amount="4500"
        )
        tg.db.clock.advance(minutes=1)
        await deals.create(
            ctx, actor=system, title="A-18", contact_id=maria.id, stage="negotiation"
        )
        await deals.create(
            ctx, actor=system, title="A-1", contact_id=maria.id, stage="won", amount="100"
        )
        client = tg.user(CLIENT_TG, first_name="Мария")

        replies = await client.say("📦 Мои заказы")
        assert texts_of(replies) == [
            "Ваши заказы (2):\n"
            "📦 <b>A-18</b> — Отправлен\n"
            "📦 <b>A-17</b> — Принят · 4\u00a0500\u00a0₽"
        ]
        keyboard = [b["text"] for row in replies[0].params["reply_markup"]["keyboard"] for b in row]
        assert "📦 Мои заказы" in keyboard and "✍️ Оставить заявку" in keyboard

        english = tg.user(CLIENT_TG, first_name="Maria", language_code="en")
        assert texts_of(await english.say("/orders"))[0].splitlines()[1:] == [
            "📦 <b>A-18</b> — Shipped",
            "📦 <b>A-17</b> — Accepted · 4,500\u00a0₽",
        ]


async def test_a_client_with_no_open_orders_or_unknown_to_the_bot_is_told_so(tg: Tg) -> None:
    await make_client(tg.db, telegram_id=CLIENT_TG)
    client = tg.user(CLIENT_TG, first_name="Мария")
    assert texts_of(await client.say("/orders")) == ["Открытых заказов сейчас нет."]


async def test_a_request_makes_a_deal_for_the_owner_who_is_told(tg: Tg) -> None:
    seller = await tg.employee(SELLER_TG, name="Анна")
    maria = await make_client(tg.db, telegram_id=CLIENT_TG, owner_id=seller.id)
    client = tg.user(CLIENT_TG, first_name="Мария")

    asked = texts_of(await client.say("✍️ Оставить заявку"))
    assert asked[0].startswith("Напишите одним сообщением")
    taken = texts_of(await client.say("Нужен счёт на 10 коробок, звоните +7 916 555-44-33"))
    assert taken == ["Спасибо! Заявка принята — менеджер свяжется с вами."]
    deal = await tg.db.one(Deal)
    assert (deal.stage, deal.owner_id, deal.contact_id) == ("new", seller.id, maria.id)
    assert deal.title == "Нужен счёт на 10 коробок, звоните +7 916 555-44-33"

    assert await deliver(tg.deps, tg.bot) == 1
    told = tg.fake.sent("sendMessage", chat_id=SELLER_TG)[-1]
    assert "Заявка от клиента <b>Мария Соколова</b>" in (told.text or "")
    assert "Телефон для связи: +7 916 555-44-33" in (told.text or "")
    assert [b["text"] for b in buttons(told.params.get("reply_markup"))] == ["👤 Карточка"]

    # Changed their mind: «Отмена» sends nothing.
    await client.say("✍️ Оставить заявку")
    assert texts_of(await client.say("Отмена")) == ["Хорошо, заявку не отправляем."]
    async with tg.db.sessions() as session:
        assert len(list(await session.scalars(select(Deal)))) == 1
