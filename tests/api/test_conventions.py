"""REST conventions integrators expect: error lists, Location, one timestamp shape, named enums."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx

from core.activities import service as activities
from core.calls import service as calls
from core.context import Actor, Ctx
from core.events import CallEvent
from tests.api.conftest import make_user
from tests.fakes.clock import FakeClock

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


async def test_a_422_lists_every_problem_with_its_field_path(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/contacts", json={"name": "", "phones": [1, "x"], "owner_id": 0, "surprise": 1}
    )
    assert response.status_code == 422
    body = response.json()
    fields = {(e["field"], e["location"]) for e in body["errors"]}
    assert {("name", "body"), ("phones.0", "body"), ("owner_id", "body")} <= fields
    assert ("surprise", "body") in fields
    assert body["field"] == body["errors"][0]["field"]
    assert all(e["field"] in body["detail"] for e in body["errors"])
    query = await client.get("/calls", params={"limit": 0, "direction": "sideways"})
    assert {(e["field"], e["location"]) for e in query.json()["errors"]} == {
        ("limit", "query"),
        ("direction", "query"),
    }


async def test_malformed_json_says_so_without_a_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/contacts", content=b'{"name": "Ivan",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["field"] is None
    assert body["detail"].startswith("the body is not valid JSON")
    assert body["errors"] == [{"field": None, "location": "body", "message": body["detail"]}]


async def test_created_records_answer_201_with_their_location(
    client: httpx.AsyncClient,
) -> None:
    creations = [
        ("/contacts", {"name": "Иван", "phones": ["+79161234567"]}),
        ("/companies", {"name": "ООО Ромашка"}),
        ("/deals", {"title": "Поставка"}),
        ("/activities", {"title": "Позвонить", "kind": "call"}),
    ]
    for path, payload in creations:
        response = await client.post(path, json=payload)
        assert response.status_code == 201, response.text
        location = response.headers["location"]
        assert location == f"/api/v1{path}/{response.json()['id']}"
        again = await client.get(location.removeprefix("/api/v1"))
        assert again.status_code == 200 and again.json() == response.json()
    new = await client.put("/contacts/by-phone/%2B79160000002", json={"name": "Пётр"})
    assert new.status_code == 201
    assert new.headers["location"] == f"/api/v1/contacts/{new.json()['id']}"
    updated = await client.put("/contacts/by-phone/%2B79160000002", json={"name": "Пётр I"})
    assert updated.status_code == 200 and "location" not in updated.headers
    contact = new.json()["id"]
    note = await client.post(f"/contacts/{contact}/notes", json={"text": "Перезвонить"})
    assert note.status_code == 201
    assert note.headers["location"] == f"/api/v1/contacts/{contact}/notes/{note.json()['id']}"
    again = await client.get(note.headers["location"].removeprefix("/api/v1"))
    assert again.status_code == 200 and again.json() == note.json()


async def test_a_note_is_read_only_through_its_own_contact(client: httpx.AsyncClient) -> None:
    first = (await client.post("/contacts", json={"name": "Иван"})).json()["id"]
    second = (await client.post("/contacts", json={"name": "Пётр"})).json()["id"]
    note = (await client.post(f"/contacts/{first}/notes", json={"text": "Счёт"})).json()["id"]
    assert (await client.get(f"/contacts/{second}/notes/{note}")).status_code == 404
    assert (await client.get(f"/contacts/{first}/notes/{note + 1}")).status_code == 404


async def test_a_contact_carries_its_company_name(client: httpx.AsyncClient) -> None:
    made = await client.post(
        "/contacts", json={"name": "Иван", "phones": ["+79161234567"], "company_name": "Вектор"}
    )
    assert made.json()["company_name"] == "Вектор"
    contact_id = made.json()["id"]
    assert (await client.get(f"/contacts/{contact_id}")).json()["company_name"] == "Вектор"
    listed = (await client.get("/contacts", params={"q": "иван"})).json()["items"]
    assert [c["company_name"] for c in listed] == ["Вектор"]
    moved = await client.patch(f"/contacts/{contact_id}", json={"company_name": "Альфа"})
    assert moved.json()["company_name"] == "Альфа"
    alone = await client.patch(f"/contacts/{contact_id}", json={"company_id": None})
    assert alone.json()["company_name"] is None


async def test_our_phone_is_e164_and_timestamps_have_one_shape(
    client: httpx.AsyncClient, ctx: Ctx, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 26, 8, 0, 0, 123456, tzinfo=UTC))
    event = CallEvent(
        provider="zadarma",
        provider_call_id="in-1",
        kind="ringing",
        occurred_at=clock.now(),
        started_at=clock.now(),
        direction="in",
        client_number="79161234567",
        our_number="74951234567",
        extension="101",
    )
    await calls.apply_event(ctx, event=event)
    call = (await client.get("/calls")).json()["items"][0]
    assert call["our_phone"] == "+74951234567"
    assert call["client_phone"] == "+79161234567"
    assert call["started_at"] == "2026-11-26T08:00:00+00:00"
    contact = (await client.get(f"/contacts/{call['contact_id']}")).json()
    stamps = [call["started_at"], contact["created_at"], contact["updated_at"]]
    assert all(TIMESTAMP.match(stamp) for stamp in stamps), stamps


async def test_activities_filter_by_kind(
    client: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    for kind in ("call", "callback", "task", "callback"):
        await activities.plan(ctx, actor=system, title=kind, kind=kind)
    callbacks = (await client.get("/activities", params={"kind": "callback"})).json()
    assert callbacks["total"] == 2 and {a["kind"] for a in callbacks["items"]} == {"callback"}
    both = (await client.get("/activities", params={"kind": "call,task"})).json()
    assert sorted(a["kind"] for a in both["items"]) == ["call", "task"]
    bad = await client.get("/activities", params={"kind": "lunch"})
    assert bad.status_code == 422 and bad.json()["field"] == "kind"


def _schemas(spec: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = spec["components"]["schemas"]
    return schemas


async def test_openapi_names_lists_and_enums_and_versions_the_changes(
    anon: httpx.AsyncClient,
) -> None:
    spec = (await anon.get("/openapi.json")).json()
    schemas = _schemas(spec)
    assert spec["info"]["version"] == "0.5.0"
    assert {"ContactList", "CallList", "ActivityList", "UserList", "TimelineList"} <= set(schemas)
    assert not [name for name in schemas if name.startswith("ListOut")]
    assert schemas["CallOut"]["properties"]["status"]["enum"] == [
        "ringing",
        "answered",
        "missed",
        "busy",
        "failed",
    ]
    assert schemas["CallOut"]["properties"]["direction"]["enum"] == ["in", "out", "internal"]
    assert schemas["ActivityOut"]["properties"]["kind"]["enum"] == [
        "call",
        "meeting",
        "task",
        "callback",
        "reply",  # issue 17: the "reply to the client" task
    ]
    assert schemas["ActivityOut"]["properties"]["status"]["enum"] == ["planned", "done", "canceled"]
    assert schemas["UserOut"]["properties"]["role"]["enum"] == ["admin", "manager", "sales"]
    created = spec["paths"]["/api/v1/contacts"]["post"]["responses"]["201"]
    assert "Location" in created["headers"]


async def test_the_generic_webhook_documents_its_body(anon: httpx.AsyncClient) -> None:
    spec = (await anon.get("/openapi.json")).json()
    body = spec["paths"]["/webhooks/generic"]["post"]["requestBody"]["content"]
    schema = body["application/json"]["schema"]
    assert schema["required"] == ["event", "call_id"]
    assert "hangup" in schema["properties"]["event"]["enum"]
    assert "application/x-www-form-urlencoded" in body


async def test_documented_schemas_are_as_strict_as_the_validation(
    anon: httpx.AsyncClient, client: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    spec = (await anon.get("/openapi.json")).json()
    schemas = _schemas(spec)
    minutes = schemas["SnoozeIn"]["properties"]["minutes"]
    assert (minutes["minimum"], minutes["maximum"]) == (1, 43200)
    stage = schemas["StageIn"]["properties"]["stage"]
    assert stage["maxLength"] == 32 and stage["minLength"] == 1
    phone = spec["paths"]["/api/v1/contacts/by-phone/{phone}"]["put"]["parameters"][0]
    assert phone["schema"]["pattern"] and phone["schema"]["maxLength"] == 80
    assert schemas["CompleteIn"]["properties"]["result"]["anyOf"][0]["pattern"]
    user = await make_user(ctx, system, "Анна", tg=1)
    task = await activities.plan(ctx, actor=system, title="x", owner_id=user.id)
    too_long = await client.post(f"/activities/{task.id}/snooze", json={"minutes": 43201})
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["location"] == "body"
    nul = await client.post(f"/activities/{task.id}/complete", json={"result": "a\u0000b"})
    assert nul.status_code == 422 and nul.json()["field"] == "result"
    search = await client.get("/contacts", params={"q": "a\u0000b"})
    assert search.status_code == 422 and search.json()["field"] == "q"
    letters = await client.put("/contacts/by-phone/call-me", json={"name": "X"})
    assert letters.status_code == 422 and letters.json()["field"] == "phone"
    done = await client.post(f"/activities/{task.id}/complete", json={"result": "ok"})
    assert done.status_code == 200
