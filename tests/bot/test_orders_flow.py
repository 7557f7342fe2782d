"""Orders and messages to clients end to end: the shop's REST calls in, the outbox out
through the fake Bot API, the client's chat as the client sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.http import create_app
from core.context import Actor
from core.conversations.models import ChatMessage
from core.users import api_keys
from telephony_webhooks.context import WebContext
from tests.bot.conftest import Tg
from tests.conftest import Db
from tests.fakes.telegram_api import FakeTelegram
from tests.orders_helpers import client_stages, deliver, make_client

CLIENT_TG = 880001


@pytest.fixture
async def shop(db: Db) -> AsyncIterator[httpx.AsyncClient]:
    """The shop's REST client (an integration-scoped key), with client-facing stages set."""
    async with db.ctx() as ctx:
        _key, plain = await api_keys.create(
            ctx, actor=Actor.system("test"), name="shop", role="integration"
        )
    app = create_app(WebContext(sessions=db.sessions, config=db.config, clock=db.clock))
    async with (
        client_stages(db.sessions),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test/api/v1",
            headers={"Authorization": f"Bearer {plain}"},
        ) as http,
    ):
        yield http


def to_client(fake: FakeTelegram) -> list[str]:
    return [call.text or "" for call in fake.sent("sendMessage", chat_id=CLIENT_TG)]


async def test_a_stage_change_tells_the_client_once_per_change(
    tg: Tg, shop: httpx.AsyncClient
) -> None:
    maria = await make_client(tg.db, telegram_id=CLIENT_TG)
    order = {"title": "Заказ A-17", "contact_id": maria.id, "stage": "qualified", "amount": "4500"}
    created = await shop.put("/deals/by-external-id/A-17", json=order)
    assert created.status_code == 201
    assert await deliver(tg.deps, tg.bot) == 0  # a new order at a quiet stage: nothing

    moved = {"stage": "negotiation"}
    assert (await shop.put("/deals/by-external-id/A-17", json=moved)).status_code == 200
    # The shop pushes the same state again (a retry): no new change, no new message.
    assert (await shop.put("/deals/by-external-id/A-17", json=moved)).status_code == 200
    await deliver(tg.deps, tg.bot)
    await deliver(tg.deps, tg.bot)
    assert to_client(tg.fake) == ["Заказ «Заказ A-17» на 4\u00a0500\u00a0₽: Отправлен."]

    # Moved back and forth by a salesperson: a new change into a notifying stage tells again.
    deal_id = created.json()["id"]
    assert (await shop.post(f"/deals/{deal_id}/stage", json={"stage": "proposal"})).is_success
    assert (await shop.post(f"/deals/{deal_id}/stage", json={"stage": "negotiation"})).is_success
    assert await deliver(tg.deps, tg.bot) == 1
    assert len(to_client(tg.fake)) == 2

    timeline = (await shop.get(f"/contacts/{maria.id}/timeline")).json()
    notices = [e["item"] for e in timeline["items"] if e["kind"] == "message"]
    assert len(notices) == 2
    assert notices[0]["channel"] == "bot" and notices[0]["direction"] == "out"
    assert notices[0]["author"] == "order_status"
    assert notices[0]["text"].endswith("Отправлен.")


async def test_a_client_without_a_conversation_is_not_told_and_nothing_fails(
    tg: Tg, shop: httpx.AsyncClient
) -> None:
    silent = await make_client(tg.db, telegram_id=None)
    order = {"title": "Заказ B-2", "contact_id": silent.id, "stage": "proposal"}
    assert (await shop.put("/deals/by-external-id/B-2", json=order)).status_code == 201
    moved = await shop.put("/deals/by-external-id/B-2", json={"stage": "negotiation"})
    assert moved.status_code == 200 and moved.json()["stage"] == "negotiation"
    assert await deliver(tg.deps, tg.bot) == 0
    assert tg.fake.sent("sendMessage") == []


async def test_rest_send_with_a_repeated_idempotency_key_sends_once(
    tg: Tg, shop: httpx.AsyncClient
) -> None:
    maria = await make_client(tg.db, telegram_id=CLIENT_TG)
    body = {"text": "Ваш заказ A-17 отправлен, трек 8000 1234"}
    headers = {"Idempotency-Key": "A-17:shipped"}
    first = await shop.post(f"/contacts/{maria.id}/messages", json=body, headers=headers)
    again = await shop.post(f"/contacts/{maria.id}/messages", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["status"] == "pending" and first.json()["author"] == "api:shop"
    await deliver(tg.deps, tg.bot)
    again = await shop.post(f"/contacts/{maria.id}/messages", json=body, headers=headers)
    assert again.status_code == 200
    await deliver(tg.deps, tg.bot)
    assert to_client(tg.fake) == [body["text"]]

    # Without a key every request is a new message.
    plain = await shop.post(f"/contacts/{maria.id}/messages", json={"text": "Спасибо!"})
    assert plain.status_code == 201
    await deliver(tg.deps, tg.bot)
    assert to_client(tg.fake) == [body["text"], "Спасибо!"]
    assert await tg.db.count(ChatMessage) == 2


async def test_rest_send_to_a_client_without_a_conversation_is_409_with_the_reason(
    db: Db, shop: httpx.AsyncClient
) -> None:
    silent = await make_client(db, telegram_id=None)
    maria = await make_client(db, name="Мария", phone="+79160000001", telegram_id=CLIENT_TG)
    answer = await shop.post(f"/contacts/{silent.id}/messages", json={"text": "Привет"})
    assert answer.status_code == 409
    assert "no open conversation" in answer.json()["detail"]
    assert (await shop.post("/contacts/999999/messages", json={"text": "x"})).status_code == 404
    empty = await shop.post(f"/contacts/{maria.id}/messages", json={"text": ""})
    assert empty.status_code == 422 and empty.json()["field"] == "text"
    long = await shop.post(f"/contacts/{maria.id}/messages", json={"text": "я" * 4097})
    assert long.status_code == 422
    key = {"Idempotency-Key": "k-1"}
    assert (
        await shop.post(f"/contacts/{maria.id}/messages", json={"text": "a"}, headers=key)
    ).status_code == 201
    other = await shop.post(f"/contacts/{silent.id}/messages", json={"text": "a"}, headers=key)
    assert other.status_code == 409 and "another contact" in other.json()["detail"]
    assert await db.count(ChatMessage) == 1


async def test_a_read_only_key_may_not_write_to_clients(
    db: Db, read_api: httpx.AsyncClient
) -> None:
    maria = await make_client(db, telegram_id=CLIENT_TG)
    refused = await read_api.post(f"/contacts/{maria.id}/messages", json={"text": "Привет"})
    assert refused.status_code == 403 and "send_message" in refused.json()["detail"]
    assert await db.count(ChatMessage) == 0
