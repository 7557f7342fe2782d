"""Contacts through HTTP: shapes, search, pagination, conflicts, patch, delete, upsert, merge."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from core.context import Actor, Ctx
from tests.api.conftest import make_call, make_user
from tests.fakes.clock import FakeClock

CONTACT_KEYS = {
    "id",
    "name",
    "company_id",
    "owner_id",
    "phones",
    "email",
    "birthday",
    "timezone",
    "tags",
    "source",
    "created_at",
    "updated_at",
}


async def create(client: httpx.AsyncClient, name: str, *phones: str, **extra: object) -> int:
    response = await client.post("/contacts", json={"name": name, "phones": list(phones), **extra})
    assert response.status_code == 201, response.text
    contact_id: int = response.json()["id"]
    return contact_id


async def total(client: httpx.AsyncClient, **params: str) -> int:
    response = await client.get("/contacts", params=params)
    assert response.status_code == 200, response.text
    count: int = response.json()["total"]
    return count


async def test_create_answers_the_contract_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/contacts",
        json={
            "name": "  Иван   Петров ",
            "phones": ["8 (916) 123-45-67 доб. 12", "+7 495 111-22-33"],
            "email": "ivan@romashka.ru",
            "birthday": "1985-03-08",
            "company_name": "ООО Ромашка",
            "tags": ["vip", "опт"],
            "timezone": "Asia/Yekaterinburg",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) >= CONTACT_KEYS
    assert body["name"] == "Иван Петров"
    assert body["phones"] == [
        {
            "e164": "+79161234567",
            "extension": "12",
            "raw": "8 (916) 123-45-67 доб. 12",
            "kind": "mobile",
        },
        {"e164": "+74951112233", "extension": None, "raw": "+7 495 111-22-33", "kind": "mobile"},
    ]
    assert body["birthday"] == "1985-03-08"
    assert body["tags"] == ["vip", "опт"]
    assert body["timezone"] == "Asia/Yekaterinburg"
    assert body["source"] == "api"
    assert body["created_at"] == "2026-11-26T09:00:00+00:00"
    company = await client.get(f"/companies/{body['company_id']}")
    assert company.json()["name"] == "ООО Ромашка"
    again = await client.get(f"/contacts/{body['id']}")
    assert again.status_code == 200
    assert again.json() == body


async def test_unknown_contact_is_404_with_a_reason(client: httpx.AsyncClient) -> None:
    for method, path, body in (
        ("GET", "/contacts/999", None),
        ("PATCH", "/contacts/999", {"name": "X"}),
        ("DELETE", "/contacts/999", None),
        ("GET", "/contacts/999/timeline", None),
        ("POST", "/contacts/999/notes", {"text": "hi"}),
    ):
        response = await client.request(method, path, json=body)
        assert response.status_code == 404, (method, path)
        assert response.json() == {"detail": "contact 999 not found"}
    # Ids beyond the database's integer range are bad input, not a server error.
    for path in ("/contacts/99999999999999999999", "/contacts/0", "/contacts/abc"):
        response = await client.get(path)
        assert response.status_code == 422, path
        assert response.json()["field"] == "contact_id"
    huge = await client.get("/contacts", params={"owner_id": 2**40})
    assert huge.status_code == 422
    assert huge.json()["field"] == "owner_id"


async def test_owned_phone_is_409_with_the_owner_and_nothing_is_created(
    client: httpx.AsyncClient,
) -> None:
    owner = await create(client, "Первый", "89161234567")
    response = await client.post(
        "/contacts", json={"name": "Второй", "phones": ["+7 916 765-43-21", "+7 (916) 123-45-67"]}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["existing_id"] == owner
    assert "+79161234567" in body["detail"]
    # The valid phone of the failed request was not saved either.
    assert await total(client) == 1
    assert await total(client, q="+79167654321") == 0
    assert (
        await client.post("/contacts", json={"name": "Второй", "phones": ["89167654321"]})
    ).status_code == 201


async def test_invalid_input_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    cases = [
        ({"name": "A", "phones": ["+79160000001", "12ab34"]}, "phones[1]"),
        ({"name": "A", "phones": ["+7 916"]}, "phones[0]"),
        ({"name": "A", "email": "not-an-email"}, "email"),
        ({"name": "A", "birthday": "31.02.1990"}, "birthday"),
        ({"name": "A", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "A", "owner_id": 999}, "owner_id"),
        ({"name": "A", "company_id": 999}, "company_id"),
        ({"name": "   "}, "name"),
        ({"phones": ["+79160000001"]}, "name"),
        ({"name": "A", "nickname": "x"}, "nickname"),
    ]
    for payload, field in cases:
        response = await client.post("/contacts", json=payload)
        assert response.status_code == 422, payload
        body = response.json()
        assert body["field"] == field, (payload, body)
        assert body["detail"], payload
    assert await total(client) == 0


async def test_pagination_has_limit_offset_and_total(client: httpx.AsyncClient) -> None:
    for index in range(5):
        await create(client, f"Клиент {index}", f"+7916000000{index}")
    response = await client.get("/contacts", params={"limit": 2, "offset": 2})
    body = response.json()
    assert body["total"] == 5
    assert [c["name"] for c in body["items"]] == ["Клиент 2", "Клиент 3"]
    last = (await client.get("/contacts", params={"limit": 2, "offset": 4})).json()
    assert [c["name"] for c in last["items"]] == ["Клиент 4"]
    assert last["total"] == 5
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "many"}):
        response = await client.get("/contacts", params=bad)
        assert response.status_code == 422, bad
        assert response.json()["field"] == next(iter(bad))


async def test_search_cyrillic_any_case_and_phone_in_any_format(client: httpx.AsyncClient) -> None:
    ivan = await create(
        client, "Иван Петров", "+79161234567", company_name="ООО Ромашка", email="ivan@mail.ru"
    )
    await create(client, "Мария Сидорова", "+74951112233")
    for q in (
        "иВАН",
        "ПЕТРОВ",
        "ромаШКА",
        "IVAN@MAIL",
        "8 (916) 123-45-67",
        "916 123",
        "+79161234567",
    ):
        body = (await client.get("/contacts", params={"q": q})).json()
        assert [c["id"] for c in body["items"]] == [ivan], q
        assert body["total"] == 1, q
    assert await total(client, q="Ёжиков") == 0
    assert await total(client) == 2


async def test_owner_filter(client: httpx.AsyncClient, ctx: Ctx, system: Actor) -> None:
    anna = await make_user(ctx, system, "Анна", tg=1)
    mine = await create(client, "Клиент Анны", "+79160000001", owner_id=anna.id)
    await create(client, "Ничей", "+79160000002")
    body = (await client.get("/contacts", params={"owner_id": anna.id})).json()
    assert [c["id"] for c in body["items"]] == [mine]
    assert body["items"][0]["owner_id"] == anna.id


async def test_patch_changes_only_the_given_fields(client: httpx.AsyncClient) -> None:
    contact = await create(
        client, "Иван", "+79161234567", email="ivan@mail.ru", tags=["vip"], birthday="1990-01-02"
    )
    response = await client.patch(f"/contacts/{contact}", json={"email": "new@mail.ru"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == "new@mail.ru"
    assert body["name"] == "Иван"
    assert body["tags"] == ["vip"]
    assert body["birthday"] == "1990-01-02"
    assert [p["e164"] for p in body["phones"]] == ["+79161234567"]
    cleared = (await client.patch(f"/contacts/{contact}", json={"email": None})).json()
    assert cleared["email"] is None
    assert cleared["birthday"] == "1990-01-02"
    phones = (
        await client.patch(f"/contacts/{contact}", json={"phones": ["8 495 111 22 33"]})
    ).json()
    assert [p["e164"] for p in phones["phones"]] == ["+74951112233"]
    # The old number is free again and no longer finds this contact.
    assert await total(client, q="+79161234567") == 0


async def test_failed_patch_leaves_the_contact_unchanged(client: httpx.AsyncClient) -> None:
    other = await create(client, "Другой", "+79160000009")
    contact = await create(client, "Иван", "+79161234567", email="ivan@mail.ru")
    bad_email = await client.patch(f"/contacts/{contact}", json={"name": "Пётр", "email": "x@"})
    assert bad_email.status_code == 422
    assert bad_email.json()["field"] == "email"
    taken = await client.patch(
        f"/contacts/{contact}", json={"name": "Пётр", "phones": ["+79161234567", "+79160000009"]}
    )
    assert taken.status_code == 409
    assert taken.json()["existing_id"] == other
    body = (await client.get(f"/contacts/{contact}")).json()
    assert body["name"] == "Иван"
    assert body["email"] == "ivan@mail.ru"
    assert [p["e164"] for p in body["phones"]] == ["+79161234567"]


async def test_soft_delete_hides_the_contact_but_keeps_its_calls(
    client: httpx.AsyncClient, ctx: Ctx
) -> None:
    contact = await create(client, "Удаляемый", "+79161234567")
    await create(client, "Остаётся", "+79160000002")
    call = await make_call(
        ctx, "c1", client="+79161234567", at=datetime(2026, 11, 26, 8, tzinfo=UTC)
    )
    assert call.contact_id == contact
    response = await client.delete(f"/contacts/{contact}")
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/contacts/{contact}")).status_code == 404
    assert (await client.delete(f"/contacts/{contact}")).status_code == 404
    listed = (await client.get("/contacts")).json()
    assert [c["name"] for c in listed["items"]] == ["Остаётся"]
    assert listed["total"] == 1
    assert await total(client, q="Удаляемый") == 0
    calls = (await client.get("/calls", params={"contact_id": contact})).json()
    assert [c["id"] for c in calls["items"]] == [call.id]
    assert (await client.get(f"/calls/{call.id}")).json()["contact_id"] == contact
    # The phone is free for a new contact.
    assert (
        await client.post("/contacts", json={"name": "Новый", "phones": ["89161234567"]})
    ).status_code == 201


async def test_upsert_by_phone_creates_then_updates_the_same_contact(
    client: httpx.AsyncClient,
) -> None:
    created = await client.put(
        "/contacts/by-phone/8 (916) 555-44-33",
        json={"name": "Покупатель", "email": "buyer@shop.ru", "tags": ["shop"]},
    )
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["source"] == "api"
    assert [p["e164"] for p in first["phones"]] == ["+79165554433"]
    updated = await client.put(
        "/contacts/by-phone/+79165554433", json={"name": "Покупатель Иванов"}
    )
    assert updated.status_code == 200, updated.text
    second = updated.json()
    assert second["id"] == first["id"]
    assert second["name"] == "Покупатель Иванов"
    assert second["email"] == "buyer@shop.ru"
    assert second["tags"] == ["shop"]
    assert await total(client) == 1
    bare = await client.put("/contacts/by-phone/+79165550000")
    assert bare.status_code == 201
    assert bare.json()["name"] == "+79165550000"


async def test_upsert_rejects_bad_input_without_saving(client: httpx.AsyncClient) -> None:
    bad_phone = await client.put("/contacts/by-phone/not-a-phone", json={"name": "X"})
    assert bad_phone.status_code == 422
    assert "not-a-phone" in bad_phone.json()["detail"]
    bad_email = await client.put("/contacts/by-phone/+79165554433", json={"email": "nope"})
    assert bad_email.status_code == 422
    assert bad_email.json()["field"] == "email"
    assert await total(client) == 0


async def test_merge_moves_phones_and_calls_and_refuses_itself(
    client: httpx.AsyncClient, ctx: Ctx
) -> None:
    target = await create(client, "Иван Петров", "+79161234567")
    source = await create(client, "Иван (рабочий)", "+74951112233", email="ivan@work.ru")
    call = await make_call(
        ctx, "c1", client="+74951112233", at=datetime(2026, 11, 26, 8, tzinfo=UTC)
    )
    itself = await client.post(f"/contacts/{target}/merge", json={"source_id": target})
    assert itself.status_code == 422
    assert itself.json()["field"] == "source_id"
    missing = await client.post(f"/contacts/{target}/merge", json={"source_id": 999})
    assert missing.status_code == 404
    response = await client.post(f"/contacts/{target}/merge", json={"source_id": source})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == target
    assert sorted(p["e164"] for p in body["phones"]) == ["+74951112233", "+79161234567"]
    assert body["email"] == "ivan@work.ru"
    assert (await client.get(f"/contacts/{source}")).status_code == 404
    assert (await client.get(f"/calls/{call.id}")).json()["contact_id"] == target
    found = (await client.get("/contacts", params={"q": "84951112233"})).json()
    assert [c["id"] for c in found["items"]] == [target]


async def test_notes_and_timeline(client: httpx.AsyncClient, ctx: Ctx, clock: FakeClock) -> None:
    contact = await create(client, "Иван", "+79161234567")
    call = await make_call(
        ctx, "c1", client="+79161234567", at=datetime(2026, 11, 26, 7, tzinfo=UTC)
    )
    note = await client.post(f"/contacts/{contact}/notes", json={"text": "Просил счёт"})
    assert note.status_code == 201, note.text
    assert note.json()["text"] == "Просил счёт"
    assert note.json()["contact_id"] == contact
    empty = await client.post(f"/contacts/{contact}/notes", json={"text": "   "})
    assert empty.status_code == 422
    assert empty.json()["field"] == "text"
    clock.advance(minutes=1)
    task = await client.post("/activities", json={"title": "Выставить счёт", "contact_id": contact})
    clock.advance(minutes=1)
    deal = await client.post("/deals", json={"title": "Счёт 15", "contact_id": contact})
    body = (await client.get(f"/contacts/{contact}/timeline")).json()
    assert body["total"] == 4
    assert [(e["kind"], e["item"]["id"]) for e in body["items"]] == [
        ("deal_change", body["items"][0]["item"]["id"]),
        ("activity", task.json()["id"]),
        ("note", note.json()["id"]),
        ("call", call.id),
    ]
    first = body["items"][0]
    assert (first["item"]["deal_id"], first["item"]["to_stage"]) == (deal.json()["id"], "new")
    assert first["deal_title"] == "Счёт 15"
    assert first["at"] == "2026-11-26T09:02:00+00:00"
    assert body["items"][1]["item"]["title"] == "Выставить счёт"
    assert body["items"][3]["item"]["client_phone"] == "+79161234567"
    page = (
        await client.get(f"/contacts/{contact}/timeline", params={"limit": 2, "offset": 2})
    ).json()
    assert [e["kind"] for e in page["items"]] == ["note", "call"]
    assert page["total"] == 4


async def test_a_search_past_the_count_cap_says_its_total_is_a_lower_bound(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.contacts import service as contacts

    for i in range(3):
        await create(client, f"Смирнов {i}", f"8916555000{i}")
    small = (await client.get("/contacts", params={"q": "смирнов"})).json()
    assert (small["total"], small["total_capped"]) == (3, False)
    monkeypatch.setattr(contacts, "SEARCH_TOTAL_CAP", 2)
    capped = (await client.get("/contacts", params={"q": "смирнов", "limit": 10})).json()
    assert (capped["total"], capped["total_capped"]) == (2, True)
