"""A client's orders: client-facing stage names, open orders only, requests as deals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.conversations import order_texts, orders
from core.deals import service as deals
from core.deals.models import Deal
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.notes.models import Note
from core.outbox.models import Notification
from core.users import service as users
from tests.conftest import Db
from tests.orders_helpers import client_stages, make_client, reset_stages


@pytest.fixture
async def stages_shown(db: Db) -> AsyncIterator[None]:
    async with client_stages(db.sessions):
        yield


async def test_orders_are_the_open_deals_in_stages_clients_see_with_their_names(
    db: Db, stages_shown: None, ctx: Ctx, system: Actor
) -> None:
    maria = await make_client(db)
    other = await make_client(db, name="Олег", phone="+79160000002", telegram_id=880002)
    hidden = await deals.create(ctx, actor=system, title="Черновик", contact_id=maria.id)
    await deals.create(
        ctx, actor=system, title="Заказ 1", contact_id=maria.id, stage="qualified", amount="1500"
    )
    db.clock.advance(minutes=1)
    shipped = await deals.create(
        ctx, actor=system, title="Заказ 2", contact_id=maria.id, stage="negotiation"
    )
    await deals.create(
        ctx, actor=system, title="Выполнен", contact_id=maria.id, stage="won", amount="10"
    )
    await deals.create(ctx, actor=system, title="Чужой", contact_id=other.id, stage="qualified")

    listed = await orders.client_orders(ctx, contact_id=maria.id, locale="ru")
    assert [(o.title, o.status) for o in listed] == [
        ("Заказ 2", "Отправлен"),
        ("Заказ 1", "Принят"),
    ]
    assert listed[1].amount == Decimal("1500.00") and listed[1].currency == "RUB"
    english = await orders.client_orders(ctx, contact_id=maria.id, locale="en")
    assert [o.status for o in english] == ["Shipped", "Accepted"]
    assert hidden.id not in {o.deal_id for o in listed} and shipped.id == listed[0].deal_id


async def test_an_admin_sets_what_clients_see_and_nobody_else_can(
    db: Db, ctx: Ctx, system: Actor
) -> None:
    try:
        stage = await orders.set_stage_view(
            ctx,
            actor=system,
            code="proposal",
            client_name_ru="  Собираем   заказ ",
            notify_client=True,
        )
        assert (stage.client_name_ru, stage.client_name_en, stage.notify_client) == (
            "Собираем заказ",
            None,
            True,
        )
        assert orders.client_stage_name(stage, "en") == "Собираем заказ"  # the other language
        seller = await users.create_user(
            ctx, actor=system, name="Олег", role="sales", telegram_user_id=5001
        )
        with pytest.raises(PermissionDenied):
            await orders.set_stage_view(
                ctx, actor=Actor.of_user(seller), code="proposal", client_name_ru="x"
            )
        with pytest.raises(NotFound, match="stages: new, qualified"):
            await orders.set_stage_view(ctx, actor=system, code="nope", client_name_ru="x")
        with pytest.raises(InvalidInput, match="no client-facing name"):
            await orders.set_stage_view(ctx, actor=system, code="new", notify_client=True)
        with pytest.raises(InvalidInput, match="longer than 100"):
            await orders.set_stage_view(ctx, actor=system, code="new", client_name_ru="я" * 101)
        hidden = await orders.set_stage_view(
            ctx, actor=system, code="proposal", client_name_ru="", notify_client=False
        )
        assert hidden.client_name_ru is None and not hidden.notify_client
    finally:
        await reset_stages(db.sessions)


async def test_a_request_is_a_deal_at_the_first_stage_for_the_owner_who_is_told(
    db: Db, ctx: Ctx, system: Actor
) -> None:
    owner = await users.create_user(
        ctx, actor=system, name="Анна", role="sales", telegram_user_id=6001
    )
    maria = await make_client(db, owner_id=owner.id)
    deal = await orders.leave_request(
        ctx, contact_id=maria.id, text="  Нужен счёт\nна 10 коробок ", phone="+7 916 111-22-33"
    )
    assert (deal.stage, deal.owner_id, deal.contact_id) == ("new", owner.id, maria.id)
    assert deal.title == "Нужен счёт на 10 коробок"
    note = await ctx.session.scalar(select(Note).where(Note.deal_id == deal.id))
    assert note is not None and note.kind == "client_request" and "+7 916 111-22-33" in note.text
    told = list(await ctx.session.scalars(select(Notification)))
    assert [(n.kind, n.user_id) for n in told] == [("client_request", owner.id)]

    with pytest.raises(InvalidInput) as empty:
        await orders.leave_request(ctx, contact_id=maria.id, text="   ")
    assert empty.value.code == "request-empty"
    with pytest.raises(InvalidInput):
        await orders.leave_request(ctx, contact_id=maria.id, text="я" * 2001)


async def test_a_request_of_a_client_nobody_owns_goes_to_the_on_duty_person(
    db: Db, ctx: Ctx, system: Actor
) -> None:
    duty = await users.create_user(
        ctx, actor=system, name="Дежурный", role="sales", telegram_user_id=6002
    )
    duty.on_duty = True
    await ctx.session.commit()
    maria = await make_client(db)
    deal = await orders.leave_request(ctx, contact_id=maria.id, text="Перезвоните")
    assert deal.owner_id == duty.id
    assert (await ctx.session.get(Deal, deal.id)) is not None


def test_order_texts_have_the_same_keys_and_placeholders_in_both_languages() -> None:
    ru, en = order_texts.TEXTS["ru"], order_texts.TEXTS["en"]
    assert ru.keys() == en.keys()
    for key in ru:
        values = {"title": "T", "status": "S", "amount": "A"}
        assert ru[key].format(**values) != ru[key] and en[key].format(**values) != en[key]
    assert order_texts.text("de", "status_changed", title="T", status="S") == "Заказ «T»: S."


async def test_a_deleted_clients_order_moves_without_a_notice(
    db: Db, stages_shown: None, ctx: Ctx, system: Actor
) -> None:
    maria = await make_client(db)
    deal = await deals.create(
        ctx, actor=system, title="A-1", contact_id=maria.id, stage="qualified"
    )
    await contacts.delete_contact(ctx, actor=system, contact_id=maria.id)
    moved = await deals.move(ctx, actor=system, deal_id=deal.id, stage="negotiation")
    assert moved.stage == "negotiation"
    assert list(await ctx.session.scalars(select(Notification))) == []
