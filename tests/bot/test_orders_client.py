"""A client in the company bot: "My orders" lists their open orders with the client-facing
status and amount; "Leave a request" becomes a deal for their owner, who is told."""

from __future__ import annotations

from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deps import BotDeps
from core.clock import FakeClock
from core.config import CoreConfig
from core.context import Actor, Ctx
from core.deals import service as deals
from core.deals.models import Deal
from tests.bot.conftest import Feed
from tests.bot.updates import TgUser, buttons, make_user, texts_of
from tests.fakes.telegram_api import FakeTelegram
from tests.orders_helpers import client_stages, deliver, make_client

CLIENT_TG, SELLER_TG = 880001, 7301


async def test_my_orders_lists_open_orders_with_client_facing_names(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
) -> None:
    maria = await make_client(sessions, config, clock, telegram_id=CLIENT_TG)
    async with client_stages(sessions), sessions() as session:
        ctx = Ctx(session=session, config=config, clock=clock)
        system = Actor.system("shop")
        await deals.create(ctx, actor=system, title="Черновик", contact_id=maria.id)
        await deals.create(
            ctx, actor=system, title="A-17", contact_id=maria.id, stage="qualified", amount="4500"
        )
        clock.advance(minutes=1)
        await deals.create(
            ctx, actor=system, title="A-18", contact_id=maria.id, stage="negotiation"
        )
        await deals.create(
            ctx, actor=system, title="A-1", contact_id=maria.id, stage="won", amount="100"
        )
        client = TgUser(feed, fake_tg, CLIENT_TG, first_name="Мария")

        replies = await client.say("📦 Мои заказы")
        assert texts_of(replies) == [
            "Ваши заказы (2):\n"
            "📦 <b>A-18</b> — Отправлен\n"
            "📦 <b>A-17</b> — Принят · 4\u00a0500\u00a0₽"
        ]
        keyboard = [b["text"] for row in replies[0].params["reply_markup"]["keyboard"] for b in row]
        assert "📦 Мои заказы" in keyboard and "✍️ Оставить заявку" in keyboard

        english = TgUser(feed, fake_tg, CLIENT_TG, first_name="Maria", language_code="en")
        assert texts_of(await english.say("/orders"))[0].splitlines()[1:] == [
            "📦 <b>A-18</b> — Shipped",
            "📦 <b>A-17</b> — Accepted · 4,500\u00a0₽",
        ]


async def test_a_client_with_no_open_orders_or_unknown_to_the_bot_is_told_so(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
) -> None:
    await make_client(sessions, config, clock, telegram_id=CLIENT_TG)
    client = TgUser(feed, fake_tg, CLIENT_TG, first_name="Мария")
    assert texts_of(await client.say("/orders")) == ["Открытых заказов сейчас нет."]


async def test_a_request_makes_a_deal_for_the_owner_who_is_told(
    feed: Feed,
    fake_tg: FakeTelegram,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    bot_deps: BotDeps,
    tg_bot: Bot,
) -> None:
    seller = await make_user(sessions, config, clock, telegram_id=SELLER_TG, name="Анна")
    maria = await make_client(sessions, config, clock, telegram_id=CLIENT_TG, owner_id=seller.id)
    client = TgUser(feed, fake_tg, CLIENT_TG, first_name="Мария")

    asked = texts_of(await client.say("✍️ Оставить заявку"))
    assert asked[0].startswith("Напишите одним сообщением")
    taken = texts_of(await client.say("Нужен счёт на 10 коробок, звоните +7 916 555-44-33"))
    assert taken == ["Спасибо! Заявка принята — менеджер свяжется с вами."]
    async with sessions() as session:
        deal = (await session.scalars(select(Deal))).one()
    assert (deal.stage, deal.owner_id, deal.contact_id) == ("new", seller.id, maria.id)
    assert deal.title == "Нужен счёт на 10 коробок, звоните +7 916 555-44-33"

    assert await deliver(bot_deps, tg_bot) == 1
    told = fake_tg.sent("sendMessage", chat_id=SELLER_TG)[-1]
    assert "Заявка от клиента <b>Мария Соколова</b>" in (told.text or "")
    assert "Телефон для связи: +7 916 555-44-33" in (told.text or "")
    assert [b["text"] for b in buttons(told.params.get("reply_markup"))] == ["👤 Карточка"]

    # Changed their mind: «Отмена» sends nothing.
    await client.say("✍️ Оставить заявку")
    assert texts_of(await client.say("Отмена")) == ["Хорошо, заявку не отправляем."]
    async with sessions() as session:
        assert len(list(await session.scalars(select(Deal)))) == 1
