"""Activities through HTTP: plan with aware times, list filters, done/cancel/snooze/reschedule."""

from __future__ import annotations

import httpx

from core.context import Actor, Ctx
from tests.api.conftest import created, make_user
from tests.fakes.clock import FakeClock

ACTIVITY_KEYS = {
    "id",
    "kind",
    "title",
    "notes",
    "due_at",
    "remind_at",
    "owner_id",
    "contact_id",
    "deal_id",
    "status",
    "result",
    "done_at",
}


async def plan(client: httpx.AsyncClient, **fields: object) -> dict[str, object]:
    return await created(client, "/activities", {"title": "Позвонить", **fields})


async def test_plan_with_an_offset_is_stored_in_utc(
    client: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    anna = await make_user(ctx, system, "Анна", tg=1)
    contact = (await client.post("/contacts", json={"name": "Иван"})).json()
    body = await plan(
        client,
        kind="meeting",
        title="Встреча в офисе",
        notes="Взять договор",
        due_at="2026-11-27T15:00:00+03:00",
        owner_id=anna.id,
        contact_id=contact["id"],
    )
    assert set(body) >= ACTIVITY_KEYS
    assert body["kind"] == "meeting"
    assert body["due_at"] == "2026-11-27T12:00:00+00:00"
    assert body["remind_at"] == body["due_at"]
    assert (body["owner_id"], body["contact_id"]) == (anna.id, contact["id"])
    assert (body["status"], body["result"], body["done_at"]) == ("planned", None, None)
    assert (await client.get(f"/activities/{body['id']}")).json() == body


async def test_plan_rejects_bad_input_and_saves_nothing(client: httpx.AsyncClient) -> None:
    for payload, field in (
        ({"title": "X", "due_at": "2026-11-27T15:00:00"}, "due_at"),
        (
            {"title": "X", "due_at": "2026-11-27T15:00:00Z", "remind_at": "2026-11-27 14:00"},
            "remind_at",
        ),
        ({"title": "X", "kind": "party"}, "kind"),
        ({"title": ""}, "title"),
        ({"title": "X", "contact_id": 999}, "contact_id"),
        ({"title": "X", "owner_id": 999}, "owner_id"),
        ({"title": "X", "deal_id": 999}, "deal_id"),
    ):
        response = await client.post("/activities", json=payload)
        assert response.status_code == 422, payload
        assert response.json()["field"] == field, (payload, response.json())
    naive = await client.post("/activities", json={"title": "X", "due_at": "2026-11-27T15:00:00"})
    assert "timezone" in naive.json()["detail"]
    assert (await client.get("/activities")).json()["total"] == 0


async def test_list_filters_and_pagination(
    client: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    anna = await make_user(ctx, system, "Анна", tg=1)
    contact = (await client.post("/contacts", json={"name": "Иван"})).json()
    first = await plan(client, due_at="2026-11-27T09:00:00Z", owner_id=anna.id)
    second = await plan(client, due_at="2026-11-28T09:00:00Z", contact_id=contact["id"])
    third = await plan(client, due_at="2026-11-29T09:00:00Z", owner_id=anna.id)
    await client.post(f"/activities/{third['id']}/complete", json={"result": "ok"})

    async def listed(**params: object) -> list[object]:
        body = (await client.get("/activities", params=params)).json()
        assert body["total"] == len(body["items"]) or "limit" in params
        return [item["id"] for item in body["items"]]

    assert await listed() == [first["id"], second["id"], third["id"]]
    assert await listed(owner_id=anna.id) == [first["id"], third["id"]]
    assert await listed(contact_id=contact["id"]) == [second["id"]]
    assert await listed(status="planned") == [first["id"], second["id"]]
    assert await listed(status="done,canceled") == [third["id"]]
    assert await listed(due_before="2026-11-28T12:00:00+03:00") == [first["id"]]
    page = (await client.get("/activities", params={"limit": 1, "offset": 2})).json()
    assert ([a["id"] for a in page["items"]], page["total"]) == ([third["id"]], 3)
    for params, field in (
        ({"status": "open"}, "status"),
        ({"due_before": "2026-11-28"}, "due_before"),
    ):
        response = await client.get("/activities", params=params)
        assert response.status_code == 422
        assert response.json()["field"] == field


async def test_complete_cancel_snooze_reschedule(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    task = await plan(client, due_at="2026-11-27T09:00:00Z")
    snoozed = await client.post(f"/activities/{task['id']}/snooze", json={"minutes": 30})
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["remind_at"] == "2026-11-26T09:30:00+00:00"
    assert snoozed.json()["due_at"] == "2026-11-27T09:00:00+00:00"
    assert (await client.post(f"/activities/{task['id']}/snooze", json={"minutes": 0})).json()[
        "field"
    ] == "minutes"
    moved = await client.post(
        f"/activities/{task['id']}/reschedule", json={"due_at": "2026-12-01T10:00:00+05:00"}
    )
    assert moved.json()["due_at"] == "2026-12-01T05:00:00+00:00"
    assert moved.json()["remind_at"] == "2026-12-01T05:00:00+00:00"
    naive = await client.post(
        f"/activities/{task['id']}/reschedule", json={"due_at": "2026-12-01T10:00:00"}
    )
    assert naive.status_code == 422
    assert naive.json()["field"] == "due_at"
    clock.advance(minutes=5)
    done = await client.post(f"/activities/{task['id']}/complete", json={"result": "Договорились"})
    assert done.status_code == 200
    body = done.json()
    assert (body["status"], body["result"]) == ("done", "Договорились")
    assert body["done_at"] == "2026-11-26T09:05:00+00:00"
    again = await client.post(f"/activities/{task['id']}/complete")
    assert again.status_code == 422
    assert again.json()["field"] == "status"
    other = await plan(client)
    canceled = await client.post(f"/activities/{other['id']}/cancel")
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    for action, payload in (
        ("complete", None),
        ("cancel", None),
        ("snooze", {"minutes": 5}),
        ("reschedule", {"due_at": "2026-12-01T10:00:00Z"}),
    ):
        response = await client.post(f"/activities/999/{action}", json=payload)
        assert response.status_code == 404, action
        assert response.json() == {"detail": "activity 999 not found"}
    assert (await client.get("/activities/999")).status_code == 404
