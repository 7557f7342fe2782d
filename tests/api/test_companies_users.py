"""Companies and users through HTTP."""

from __future__ import annotations

import httpx

from core.context import Actor, Ctx
from core.users import service as users
from tests.api.conftest import make_user


async def test_company_create_get_patch_list(client: httpx.AsyncClient) -> None:
    created = await client.post("/companies", json={"name": "ООО Ромашка", "inn": "7701234567"})
    assert created.status_code == 201, created.text
    company = created.json()
    assert {"id", "name", "inn", "website", "created_at"} <= set(company)
    assert company["inn"] == "7701234567"
    duplicate = await client.post("/companies", json={"name": "ооо РОМАШКА"})
    assert duplicate.status_code == 409
    assert duplicate.json()["existing_id"] == company["id"]
    got = await client.get(f"/companies/{company['id']}")
    assert got.json() == company
    patched = await client.patch(f"/companies/{company['id']}", json={"website": "romashka.ru"})
    assert patched.status_code == 200
    assert patched.json()["website"] == "romashka.ru"
    assert patched.json()["name"] == "ООО Ромашка"
    assert patched.json()["inn"] == "7701234567"
    await client.post("/companies", json={"name": "ИП Васильев"})
    await client.post("/companies", json={"name": "АО Лютик"})
    page = (await client.get("/companies", params={"limit": 2, "offset": 1})).json()
    assert page["total"] == 3
    assert [c["name"] for c in page["items"]] == ["ИП Васильев", "ООО Ромашка"]
    found = (await client.get("/companies", params={"q": "ромаш"})).json()
    assert [c["id"] for c in found["items"]] == [company["id"]]


async def test_renamed_company_finds_its_contacts(client: httpx.AsyncClient) -> None:
    company = (await client.post("/companies", json={"name": "Старое имя"})).json()
    contact = await client.post(
        "/contacts", json={"name": "Иван", "phones": ["+79161234567"], "company_id": company["id"]}
    )
    assert contact.json()["company_id"] == company["id"]
    renamed = await client.patch(f"/companies/{company['id']}", json={"name": "Новое Имя"})
    assert renamed.json()["name"] == "Новое Имя"
    found = (await client.get("/contacts", params={"q": "НОВОЕ"})).json()
    assert [c["id"] for c in found["items"]] == [contact.json()["id"]]


async def test_company_errors(client: httpx.AsyncClient) -> None:
    assert (await client.get("/companies/999")).status_code == 404
    assert (await client.patch("/companies/999", json={"name": "X"})).json() == {
        "detail": "company 999 not found"
    }
    empty = await client.post("/companies", json={"name": " "})
    assert empty.status_code == 422
    assert empty.json()["field"] == "name"
    assert (await client.get("/companies")).json()["total"] == 0


async def test_users_are_readable(client: httpx.AsyncClient, ctx: Ctx, system: Actor) -> None:
    anna = await make_user(ctx, system, "Анна", tg=101, extensions=("101", "anna@pbx"))
    boris = await make_user(ctx, system, "Борис", tg=102)
    await users.deactivate(ctx, actor=system, user_id=boris.id)
    body = (await client.get("/users")).json()
    assert body["total"] == 2
    first = body["items"][0]
    assert first == {
        "id": anna.id,
        "name": "Анна",
        "telegram_user_id": 101,
        "role": "sales",
        "extensions": ["101", "anna@pbx"],
        "timezone": "Europe/Moscow",
        "locale": "ru",
        "active": True,
    }
    active = (await client.get("/users", params={"active_only": "true"})).json()
    assert [u["id"] for u in active["items"]] == [anna.id]
    assert active["total"] == 1
    paged = (await client.get("/users", params={"limit": 1, "offset": 1})).json()
    assert [u["id"] for u in paged["items"]] == [boris.id]
    assert paged["items"][0]["active"] is False
    assert (await client.get(f"/users/{anna.id}")).json() == first
    missing = await client.get("/users/999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "user 999 not found"}
