"""Deals from the card: create, list mine, move a stage, won with an amount, lost with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.callbacks import ContactCb, DealCb
from core.contacts.models import Contact
from core.deals.models import Deal, DealStageChange
from tests.bot.conftest import Tg, employee
from tests.bot.updates import answers, buttons, sent, texts_of

SELLER_TG = 9201
seller = employee(SELLER_TG)


async def test_a_deal_is_created_moved_and_won_with_an_amount(tg: Tg, anna: Contact) -> None:
    user = tg.user(SELLER_TG)
    card = await user.open_card(anna.id)
    await user.tap(card, "Сделка")
    deal_msg = sent(await user.say("Поставка бумаги"))[0]
    assert "Сделка создана" in (deal_msg.text or "") and "Этап: Новая" in (deal_msg.text or "")

    mine = sent(await user.say("💼 Мои сделки"))[0]
    assert "Мои открытые сделки: 1" in (mine.text or "")
    assert [b["text"] for b in buttons(mine.params["reply_markup"])] == ["Поставка бумаги · Новая"]

    await user.tap(deal_msg, "Предложение")
    assert "Этап: Предложение" in (user.current(deal_msg).text or "")
    await user.tap(deal_msg, "Выиграна")
    assert texts_of(await user.say("сто")) == ["Сумма — это число, например 150000 или 99 900,50."]
    won = texts_of(await user.say("150 000,50"))
    assert "Сделка выиграна" in won[-1] and "150\u00a0000,50\u00a0₽" in won[-1]

    async with tg.db.sessions() as session:
        deal = (await session.scalars(select(Deal))).one()
        stages = [c.to_stage for c in await session.scalars(select(DealStageChange))]
    assert (deal.stage, deal.amount, deal.contact_id) == ("won", Decimal("150000.50"), anna.id)
    assert stages == ["new", "proposal", "won"]
    assert deal.closed_at is not None
    assert "Открытых сделок нет" in texts_of(await user.say("/deals"))[0]


async def test_a_deal_is_lost_with_a_reason_and_then_closed_to_buttons(
    tg: Tg, anna: Contact
) -> None:
    user = tg.user(SELLER_TG)
    await user.press(ContactCb(action="deal", id=anna.id).pack())
    deal_msg = sent(await user.say("Ремонт"))[0]
    await user.tap(deal_msg, "Проиграна")
    lost = texts_of(await user.say("Дорого"))
    assert "проигранная" in lost[-1] and "Причина: Дорого" in lost[-1]
    deal = await tg.db.one(Deal)
    assert (deal.stage, deal.lost_reason) == ("lost", "Дорого")
    moved = await user.press(DealCb(action="stage", id=deal.id, stage="proposal").pack())
    assert answers(moved) and "закрыта" in answers(moved)[0]


async def test_someone_elses_deal_cannot_be_moved(tg: Tg, anna: Contact) -> None:
    user = tg.user(SELLER_TG)
    await user.press(ContactCb(action="deal", id=anna.id).pack())
    await user.say("Моя сделка")
    deal = await tg.db.one(Deal)
    await tg.employee(9202, name="Чужой")
    intruder = tg.user(9202)
    for action in ("open", "stage", "won"):
        data = DealCb(action=action, id=deal.id, stage="proposal").pack()
        assert answers(await intruder.press(data)) == ["Не найдено или уже недоступно."]
    async with tg.db.sessions() as session:
        stored = await session.get(Deal, deal.id)
        assert stored is not None and stored.stage == "new"


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("450 тыс", "450000.00", "450\u00a0000\u00a0₽"),
        ("450 000 ₽", "450000.00", "450\u00a0000\u00a0₽"),
        ("1,5 млн", "1500000.00", "1\u00a0500\u00a0000\u00a0₽"),
        ("450k", "450000.00", "450\u00a0000\u00a0₽"),
    ],
)
async def test_a_won_amount_is_read_as_people_type_it_and_shown_in_roubles(
    tg: Tg, typed: str, stored: str, shown: str, anna: Contact
) -> None:
    user = tg.user(SELLER_TG)
    card = await user.open_card(anna.id)
    await user.tap(card, "Сделка")
    deal_msg = sent(await user.say("Поставка"))[0]
    await user.tap(deal_msg, "Выиграна")
    won = texts_of(await user.say(typed))
    assert "Сделка выиграна" in won[-1] and shown in won[-1]
    deal = await tg.db.one(Deal)
    assert deal.amount == Decimal(stored)
