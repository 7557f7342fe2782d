"""Deals through HTTP: create, patch, stage changes with history, pipeline."""

from __future__ import annotations

import httpx

from tests.api.conftest import created
from tests.fakes.clock import FakeClock

DEAL_KEYS = {
    "id",
    "title",
    "contact_id",
    "company_id",
    "owner_id",
    "stage",
    "amount",
    "currency",
    "closed_at",
}


async def create(client: httpx.AsyncClient, **fields: object) -> dict[str, object]:
    return await created(client, "/deals", {"title": "Заказ", **fields})


async def history(client: httpx.AsyncClient, deal_id: object) -> list[tuple[str | None, str]]:
    body = (await client.get(f"/deals/{deal_id}/history")).json()
    assert body["total"] == len(body["items"])
    return [(item["from_stage"], item["to_stage"]) for item in body["items"]]


async def test_pipeline_stages(client: httpx.AsyncClient) -> None:
    body = (await client.get("/pipeline/stages")).json()
    assert [s["code"] for s in body["items"]] == [
        "new",
        "qualified",
        "proposal",
        "negotiation",
        "won",
        "lost",
    ]
    assert body["items"][4] == {
        "code": "won",
        "name": "Успешно",
        "position": 90,
        "outcome": "won",
        "client_name_ru": None,
        "client_name_en": None,
        "notify_client": False,
    }


async def test_create_get_patch(client: httpx.AsyncClient) -> None:
    company = (await client.post("/companies", json={"name": "ООО Ромашка"})).json()
    contact = (
        await client.post("/contacts", json={"name": "Иван", "company_id": company["id"]})
    ).json()
    deal = await create(client, contact_id=contact["id"], amount="1 500,5", external_id="order-1")
    assert set(deal) >= DEAL_KEYS
    assert deal["stage"] == "new"
    assert deal["amount"] == "1500.50"
    assert deal["currency"] == "RUB"
    assert deal["company_id"] == company["id"]
    assert deal["closed_at"] is None
    assert (await client.get(f"/deals/{deal['id']}")).json() == deal
    patched = await client.patch(f"/deals/{deal['id']}", json={"amount": 2000, "currency": "USD"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["amount"], patched.json()["currency"]) == ("2000.00", "USD")
    assert patched.json()["title"] == "Заказ"
    duplicate = await client.post("/deals", json={"title": "Again", "external_id": "order-1"})
    assert duplicate.status_code == 409
    assert duplicate.json()["existing_id"] == deal["id"]
    no_owner = await client.patch(f"/deals/{deal['id']}", json={"owner_id": 999, "title": "Y"})
    assert no_owner.status_code == 422
    assert no_owner.json()["field"] == "owner_id"
    assert (await client.get(f"/deals/{deal['id']}")).json() == patched.json()


async def test_bad_input_is_422_and_saves_nothing(client: httpx.AsyncClient) -> None:
    for payload, field in (
        ({"title": "X", "stage": "paid"}, "stage"),
        ({"title": "X", "amount": "дорого"}, "amount"),
        ({"title": "X", "amount": "-5"}, "amount"),
        ({"title": "X", "currency": "XYZ"}, "currency"),
        ({"title": "X", "contact_id": 999}, "contact_id"),
        ({"title": "X", "company_id": 999}, "company_id"),
        ({"title": "X", "owner_id": 999}, "owner_id"),
        ({"title": "X", "owner_id": 2**40}, "owner_id"),
        ({"title": ""}, "title"),
        ({"title": "X", "stage": "won"}, "amount"),
        ({"title": "X", "stage": "lost"}, "lost_reason"),
    ):
        response = await client.post("/deals", json=payload)
        assert response.status_code == 422, payload
        assert response.json()["field"] == field, (payload, response.json())
    assert (await client.get("/deals")).json()["total"] == 0
    missing = await client.get("/deals/999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "deal 999 not found"}
    for method, path, body in (
        ("PATCH", "/deals/999", {"title": "X"}),
        ("POST", "/deals/999/stage", {"stage": "won", "amount": "1"}),
        ("GET", "/deals/999/history", None),
    ):
        assert (await client.request(method, path, json=body)).status_code == 404, path


async def test_stage_changes_are_recorded_in_history(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    deal = await create(client)
    clock.advance(hours=1)
    moved = await client.post(f"/deals/{deal['id']}/stage", json={"stage": "proposal"})
    assert moved.status_code == 200
    assert moved.json()["stage"] == "proposal"
    unknown = await client.post(f"/deals/{deal['id']}/stage", json={"stage": "paid"})
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "stage"
    assert "proposal" in unknown.json()["detail"]
    no_amount = await client.post(f"/deals/{deal['id']}/stage", json={"stage": "won"})
    assert no_amount.status_code == 422
    assert no_amount.json()["field"] == "amount"
    assert await history(client, deal["id"]) == [(None, "new"), ("new", "proposal")]
    clock.advance(hours=1)
    won = await client.post(
        f"/deals/{deal['id']}/stage", json={"stage": "won", "amount": "1500.00"}
    )
    assert won.status_code == 200, won.text
    assert (won.json()["stage"], won.json()["amount"]) == ("won", "1500.00")
    assert won.json()["closed_at"] == "2026-11-26T11:00:00+00:00"
    assert await history(client, deal["id"]) == [
        (None, "new"),
        ("new", "proposal"),
        ("proposal", "won"),
    ]
    raw = (await client.get(f"/deals/{deal['id']}/history")).json()["items"]
    assert [item["changed_at"] for item in raw] == [
        "2026-11-26T09:00:00+00:00",
        "2026-11-26T10:00:00+00:00",
        "2026-11-26T11:00:00+00:00",
    ]
    closed = await client.post(f"/deals/{deal['id']}/stage", json={"stage": "new"})
    assert closed.status_code == 422


async def test_lost_needs_a_reason(client: httpx.AsyncClient) -> None:
    closed = await create(client, stage="lost", lost_reason="Нет бюджета")
    assert (closed["lost_reason"], closed["closed_at"]) == (
        "Нет бюджета",
        "2026-11-26T09:00:00+00:00",
    )
    deal = await create(client)
    no_reason = await client.post(f"/deals/{deal['id']}/stage", json={"stage": "lost"})
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "lost_reason"
    lost = await client.post(
        f"/deals/{deal['id']}/stage", json={"stage": "lost", "lost_reason": "Дорого"}
    )
    assert (lost.json()["stage"], lost.json()["lost_reason"]) == ("lost", "Дорого")
    assert await history(client, deal["id"]) == [(None, "new"), ("new", "lost")]


async def test_list_filters_and_pagination(client: httpx.AsyncClient) -> None:
    contact = (await client.post("/contacts", json={"name": "Иван"})).json()
    first = await create(client, contact_id=contact["id"])
    second = await create(client, stage="proposal")
    third = await create(client)
    lost = await client.post(
        f"/deals/{third['id']}/stage", json={"stage": "lost", "lost_reason": "Дорого"}
    )
    assert lost.json()["closed_at"] is not None

    async def listed(**params: object) -> list[object]:
        body = (await client.get("/deals", params=params)).json()
        return [item["id"] for item in body["items"]]

    assert await listed() == [third["id"], second["id"], first["id"]]
    assert await listed(contact_id=contact["id"]) == [first["id"]]
    assert await listed(stage="proposal") == [second["id"]]
    assert await listed(open_only="true") == [second["id"], first["id"]]
    page = (await client.get("/deals", params={"limit": 2, "offset": 1})).json()
    assert ([d["id"] for d in page["items"]], page["total"]) == ([second["id"], first["id"]], 3)
