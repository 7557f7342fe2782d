"""Consent through the REST API (issue 15, defect 2): readable with its source and time;
recorded only with a source; `false` always withdraws; never re-opens a client's /stop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from core.contacts import consent
from core.context import Actor, Ctx
from core.greetings import service as greetings
from core.greetings.service import GreetingOptions
from core.models import Notification
from tests.api.conftest import as_key, key, make_user
from tests.fakes.clock import FakeClock

PHONE = "+79161234567"
CHAT = 4242


@pytest.fixture
async def shop(app: FastAPI, ctx: Ctx, system: Actor) -> AsyncIterator[httpx.AsyncClient]:
    """The shop's integration key (the role an online shop gets)."""
    async with as_key(app, await key(ctx, system, "integration", name="shop")) as http:
        yield http


async def _opted_in_then_stopped(ctx: Ctx, system: Actor, shop: httpx.AsyncClient) -> int:
    """A contact of the shop whose client opened their link, then sent /stop in the bot."""
    owner = await make_user(ctx, system, "Анна", tg=101)
    created = await shop.put(
        f"/contacts/by-phone/{PHONE}",
        json={"name": "Иван", "owner_id": owner.id, "timezone": "Europe/Moscow"},
    )
    assert created.status_code == 201, created.text
    contact_id: int = created.json()["id"]
    token = await consent.invite_token(ctx, actor=Actor.of_user(owner), contact_id=contact_id)
    await consent.accept(ctx, token=token, chat_id=CHAT)
    assert await consent.revoke(ctx, chat_id=CHAT) == 1
    return contact_id


async def test_after_a_stop_the_shop_cannot_turn_consent_back_on_and_no_greeting_reaches_the_chat(
    shop: httpx.AsyncClient, ctx: Ctx, clock: FakeClock, system: Actor
) -> None:
    contact_id = await _opted_in_then_stopped(ctx, system, shop)
    stopped_at = clock.now()
    body = {
        "marketing_consent": True,
        "consent_source": "shop checkout",
        "birthday": "1990-05-20",
    }
    for method, path in (
        ("PUT", f"/contacts/by-phone/{PHONE}"),
        ("PATCH", f"/contacts/{contact_id}"),
    ):
        refused = await shop.request(method, path, json=body)
        assert refused.status_code == 409, refused.text
        assert "/stop" in refused.json()["detail"]

    card = (await shop.get(f"/contacts/{contact_id}")).json()
    assert card["marketing_consent"] is False
    assert card["birthday"] is None  # a refused request changes nothing
    assert card["consent_stopped_at"] == stopped_at.isoformat(timespec="seconds")
    # The shop may still fill the birthday (without consent): the owner greets the client.
    filled = await shop.put(f"/contacts/by-phone/{PHONE}", json={"birthday": "1990-05-20"})
    assert filled.status_code == 200, filled.text
    clock.set(datetime(2027, 5, 20, 8, 0, tzinfo=UTC))
    assert await greetings.send_due(ctx, options=GreetingOptions(holidays=())) == 1
    sent = list(await ctx.session.scalars(select(Notification).order_by(Notification.id)))
    assert [n.kind for n in sent] == ["greet_today"]
    assert all(n.chat_id != CHAT for n in sent)


async def test_consent_given_elsewhere_is_recorded_with_its_source_and_time(
    shop: httpx.AsyncClient, clock: FakeClock
) -> None:
    created = await shop.post(
        "/contacts",
        json={
            "name": "Мария",
            "marketing_consent": True,
            "consent_source": "shop checkout",
            "consent_at": "2026-11-20T12:30:00+03:00",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["marketing_consent"] is True
    assert body["consent_source"] == "api:shop checkout"
    assert body["consent_at"] == "2026-11-20T09:30:00+00:00"
    assert body["consent_stopped_at"] is None

    upserted = await shop.put(
        f"/contacts/by-phone/{PHONE}",
        json={"name": "Олег", "marketing_consent": True, "consent_source": "newsletter form"},
    )
    assert upserted.status_code == 201, upserted.text
    assert upserted.json()["consent_source"] == "api:newsletter form"
    assert upserted.json()["consent_at"] == clock.now().isoformat(timespec="seconds")
    # Withdrawing needs no source and is always allowed.
    withdrawn = await shop.put(f"/contacts/by-phone/{PHONE}", json={"marketing_consent": False})
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["marketing_consent"], withdrawn.json()["consent_source"]) == (
        False,
        None,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"marketing_consent": True}, "consent_source"),
        ({"marketing_consent": True, "consent_source": "   "}, "consent_source"),
        ({"consent_source": "shop checkout"}, "consent_source"),
        ({"marketing_consent": True, "consent_source": "x" * 101}, "consent_source"),
        (
            {
                "marketing_consent": True,
                "consent_source": "shop",
                "consent_at": "2126-01-01T00:00:00+00:00",
            },
            "consent_at",
        ),
        (
            {
                "marketing_consent": True,
                "consent_source": "shop",
                "consent_at": "2026-01-01T00:00:00",
            },
            "consent_at",
        ),
    ],
)
async def test_consent_without_its_source_is_422_naming_the_field(
    shop: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    for method, path, extra in (
        ("POST", "/contacts", {"name": "Иван"}),
        ("PUT", f"/contacts/by-phone/{PHONE}", {}),
    ):
        refused = await shop.request(method, path, json={**extra, **body})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == field, refused.text
    assert (await shop.get("/contacts")).json()["total"] == 0


async def test_a_read_key_reads_consent_and_cannot_write_it(
    app: FastAPI, shop: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    contact_id = await _opted_in_then_stopped(ctx, system, shop)
    async with as_key(app, await key(ctx, system, "read", name="report")) as reader:
        card = await reader.get(f"/contacts/{contact_id}")
        assert card.status_code == 200
        assert {"marketing_consent", "consent_source", "consent_at"} <= set(card.json())
        patch = await reader.patch(f"/contacts/{contact_id}", json={"marketing_consent": False})
        assert patch.status_code == 403
