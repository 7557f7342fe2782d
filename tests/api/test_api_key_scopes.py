"""API keys have a scope (read, integration, admin), a last use, and can be revoked."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from core.context import Actor, Ctx
from core.errors import PermissionDenied
from core.models import ApiKey
from core.users import api_keys
from tests.api.conftest import as_key, key
from tests.fakes.clock import FakeClock


async def test_a_read_only_key_reads_and_changes_nothing(
    app: FastAPI, ctx: Ctx, system: Actor
) -> None:
    async with as_key(app, await key(ctx, system, "read")) as http:
        assert (await http.get("/contacts")).status_code == 200
        assert (await http.get("/deals")).status_code == 200
        for method, path, body in (
            ("POST", "/contacts", {"name": "Иван"}),
            ("PUT", "/contacts/by-phone/89161234567", {"name": "Иван"}),
            ("PUT", "/deals/by-external-id/A-1", {"title": "Заказ"}),
            ("POST", "/activities", {"title": "Позвонить"}),
        ):
            response = await http.request(method, path, json=body)
            assert response.status_code == 403, (path, response.text)
            assert "scoped 'read'" in response.json()["detail"]
        assert (await http.get("/contacts")).json()["total"] == 0


async def test_an_integration_key_upserts_contacts_and_deals_only(
    app: FastAPI, ctx: Ctx, system: Actor
) -> None:
    async with as_key(app, await key(ctx, system, "integration")) as http:
        contact = await http.put("/contacts/by-phone/89161234567", json={"name": "Иван"})
        assert contact.status_code == 201
        deal = await http.put(
            "/deals/by-external-id/A-1", json={"title": "Заказ", "contact_id": contact.json()["id"]}
        )
        assert deal.status_code == 201
        assert (await http.post("/deals", json={"title": "Ещё"})).status_code == 201
        for method, path, body in (
            ("DELETE", f"/contacts/{contact.json()['id']}", None),
            ("POST", "/activities", {"title": "Позвонить"}),
            ("POST", f"/contacts/{contact.json()['id']}/merge", {"source_id": 1}),
        ):
            response = await http.request(method, path, json=body)
            assert response.status_code == 403, (path, response.text)
        assert (await http.get(f"/contacts/{contact.json()['id']}")).status_code == 200


async def test_an_admin_key_may_do_everything(app: FastAPI, ctx: Ctx, system: Actor) -> None:
    async with as_key(app, await key(ctx, system, "admin")) as http:
        contact = await http.post("/contacts", json={"name": "Иван"})
        assert (await http.delete(f"/contacts/{contact.json()['id']}")).status_code == 204
        assert (await http.post("/activities", json={"title": "Позвонить"})).status_code == 201


async def test_a_revoked_key_is_refused_at_once(app: FastAPI, ctx: Ctx, system: Actor) -> None:
    stored, plain = await api_keys.create(ctx, actor=system, name="shop", role="integration")
    async with as_key(app, plain) as http:
        assert (await http.get("/contacts")).status_code == 200
        await api_keys.revoke(ctx, actor=system, key_id=stored.id)
        assert (await http.get("/contacts")).status_code == 401


async def test_last_use_is_recorded_at_most_once_a_minute(
    app: FastAPI, ctx: Ctx, system: Actor, clock: FakeClock
) -> None:
    stored, plain = await api_keys.create(ctx, actor=system, name="shop", role="read")
    key_id, first = stored.id, clock.now()

    async def last_used() -> object:
        ctx.session.expire_all()
        return await ctx.session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key_id))

    async with as_key(app, plain) as http:
        await http.get("/contacts")
        assert await last_used() == first
        clock.advance(seconds=30)
        await http.get("/contacts")
        assert await last_used() == first  # within the minute: no write
        clock.advance(seconds=31)
        await http.get("/contacts")
        assert await last_used() == clock.now()


async def test_listing_and_revoking_keys_is_for_admins(ctx: Ctx, system: Actor) -> None:
    await api_keys.create(ctx, actor=system, name="shop", role="integration")
    listed = await api_keys.list_keys(ctx, actor=system)
    assert [(k.name, k.role) for k in listed] == [("shop", "integration")]
    shop = Actor.api_key(listed[0].id, "shop", "integration")
    with pytest.raises(PermissionDenied):
        await api_keys.list_keys(ctx, actor=shop)
    with pytest.raises(PermissionDenied):
        await api_keys.revoke(ctx, actor=shop, key_id=listed[0].id)


# The spreadsheet operations × key roles: a dry run writes nothing, so every key may run it
# (issue 15, #11); applying writes contacts in bulk, which only an admin key may do.
SPREADSHEET_SCOPES: list[tuple[str, str, dict[str, str], dict[str, int]]] = [
    ("POST", "/imports", {}, {"read": 200, "integration": 200, "admin": 200}),
    ("POST", "/imports", {"apply": "false"}, {"read": 200, "integration": 200, "admin": 200}),
    ("POST", "/imports/rejected.xlsx", {}, {"read": 200, "integration": 200, "admin": 200}),
    ("POST", "/imports", {"apply": "true"}, {"read": 403, "integration": 403, "admin": 200}),
    ("GET", "/exports/contacts.csv", {}, {"read": 200, "integration": 200, "admin": 200}),
]


@pytest.mark.parametrize("role", ["read", "integration", "admin"])
async def test_spreadsheet_operations_by_key_role(
    app: FastAPI, ctx: Ctx, system: Actor, role: str
) -> None:
    upload = {"file": ("c.csv", "ФИО;Телефон\r\nИван;+79161234567\r\n".encode(), "text/csv")}
    async with as_key(app, await key(ctx, system, role)) as http:
        for method, path, form, expected in SPREADSHEET_SCOPES:
            files = upload if method == "POST" else None
            response = await http.request(method, path, files=files, data=form or None)
            assert response.status_code == expected[role], (path, form, response.text)
        contacts = (await http.get("/contacts")).json()["total"]
    assert contacts == (1 if role == "admin" else 0)
