"""No 500 for bad input or races: out-of-range times, control characters, lengths, upserts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from core.context import Ctx
from tests.api.conftest import make_call

FAR = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1800-01-01T00:00:00+00:00"]


def assert_422(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field, response.json()


@pytest.mark.parametrize("moment", FAR)
async def test_times_out_of_range_are_422_naming_the_field(
    client: httpx.AsyncClient, moment: str
) -> None:
    for name in ("due_at", "remind_at"):
        response = await client.post("/activities", json={"title": "Позвонить", name: moment})
        assert_422(response, name)
    planned = await client.post(
        "/activities", json={"title": "Позвонить", "due_at": "2026-11-27T10:00:00+03:00"}
    )
    activity_id = planned.json()["id"]
    response = await client.post(f"/activities/{activity_id}/reschedule", json={"due_at": moment})
    assert_422(response, "due_at")
    for path, name in (("/calls", "since"), ("/calls", "until"), ("/activities", "due_before")):
        assert_422(await client.get(path, params={name: moment}), name)


async def test_a_huge_snooze_is_422_not_an_overflow(client: httpx.AsyncClient) -> None:
    planned = await client.post(
        "/activities", json={"title": "Позвонить", "due_at": "2026-11-27T10:00:00+03:00"}
    )
    response = await client.post(
        f"/activities/{planned.json()['id']}/snooze", json={"minutes": 10**12}
    )
    assert_422(response, "minutes")


@pytest.mark.parametrize("q", ["abc\x00def", "\x00", "a\x1bb"])
async def test_a_control_character_in_the_search_is_422(client: httpx.AsyncClient, q: str) -> None:
    assert_422(await client.get("/contacts", params={"q": q}), "q")
    assert_422(await client.get("/companies", params={"q": q}), "q")


async def test_a_nul_in_any_text_field_is_422_naming_it(
    client: httpx.AsyncClient, ctx: Ctx
) -> None:
    contact = (await client.post("/contacts", json={"name": "Иван"})).json()
    deal = (await client.post("/deals", json={"title": "Заказ"})).json()
    planned = (await client.post("/activities", json={"title": "Позвонить"})).json()
    call = await make_call(ctx, "c-1", client="+79161234567", at=ctx.clock.now())
    nul = "a\x00b"
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/contacts", {"name": nul}, "name"),
        ("POST", "/contacts", {"name": "И", "email": nul}, "email"),
        ("POST", "/contacts", {"name": "И", "company_name": nul}, "company_name"),
        ("POST", "/contacts", {"name": "И", "tags": [nul]}, "tags.0"),
        ("POST", "/contacts", {"name": "И", "phones": [nul]}, "phones.0"),
        ("PATCH", f"/contacts/{contact['id']}", {"name": nul}, "name"),
        ("POST", f"/contacts/{contact['id']}/notes", {"text": nul}, "text"),
        ("POST", "/activities", {"title": "X", "notes": nul}, "notes"),
        ("POST", f"/activities/{planned['id']}/complete", {"result": nul}, "result"),
        ("POST", "/deals", {"title": nul}, "title"),
        ("PATCH", f"/deals/{deal['id']}", {"title": nul}, "title"),
        ("PATCH", f"/calls/{call.id}", {"summary": nul}, "summary"),
        ("PATCH", f"/calls/{call.id}", {"outcome": nul}, "outcome"),
        ("POST", "/companies", {"name": nul}, "name"),
    ]
    for method, path, body, field in cases:
        assert_422(await client.request(method, path, json=body), field)
    response = await client.put("/contacts/by-phone/8916%001234567", json={"name": "И"})
    assert_422(response, "phone")


@pytest.mark.parametrize("name", ["\u200b\u200b", "\u200e", " \u2060 ", "\u0301", "\ufeff"])
async def test_a_name_of_only_invisible_characters_is_refused(
    client: httpx.AsyncClient, name: str
) -> None:
    assert_422(await client.post("/contacts", json={"name": name}), "name")
    assert_422(await client.post("/companies", json={"name": name}), "name")
    assert_422(await client.post("/deals", json={"title": name}), "title")


async def test_multi_line_text_keeps_its_newlines(client: httpx.AsyncClient) -> None:
    contact = (await client.post("/contacts", json={"name": "Иван"})).json()
    response = await client.post(
        f"/contacts/{contact['id']}/notes", json={"text": "первая\nвторая\tстрока"}
    )
    assert response.status_code == 201 and response.json()["text"] == "первая\nвторая\tстрока"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/contacts", {"name": "И", "company_name": "x" * 1_000_000}, "company_name"),
        ("POST", "/contacts", {"name": "x" * 301}, "name"),
        ("POST", "/contacts", {"name": "И", "email": "a" * 321}, "email"),
        ("POST", "/contacts", {"name": "И", "tags": ["t"] * 51}, "tags"),
        ("POST", "/activities", {"title": "x" * 501}, "title"),
        ("POST", "/activities", {"title": "X", "notes": "x" * 10_001}, "notes"),
        ("POST", "/deals", {"title": "X", "external_id": "x" * 129}, "external_id"),
        ("POST", "/deals", {"title": "X", "currency": "RUBLES"}, "currency"),
        ("POST", "/companies", {"name": "X", "website": "x" * 301}, "website"),
    ],
)
async def test_every_text_field_has_a_length_limit(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    assert_422(await client.request(method, path, json=body), field)


PHONE_FORMATS = [
    "+79161234567",
    "89161234567",
    "79161234567",
    "9161234567",
    "8 916 123-45-67",
    "+7 (916) 123-45-67",
    "8(916)1234567",
    "+7-916-123-45-67",
    "8 (916) 123 45 67",
    "7 916 1234567",
    "+7 916 123 4567",
    "8-916-123-45-67",
    "+7(916)123-45-67",
    "916 123 45 67",
    "8 9161234567",
]


async def test_concurrent_upserts_of_one_number_all_succeed_with_one_contact(
    client: httpx.AsyncClient,
) -> None:
    async def upsert(number: int) -> httpx.Response:
        phone = PHONE_FORMATS[number % len(PHONE_FORMATS)]
        return await client.put(
            f"/contacts/by-phone/{phone}",
            json={"name": f"Покупатель {number}", "company_name": "ООО Ромашка"},
        )

    responses = await asyncio.gather(*(upsert(n) for n in range(50)))
    assert sorted({r.status_code for r in responses}) in ([200, 201], [201])
    assert [r.status_code for r in responses].count(201) == 1, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    listed = (await client.get("/contacts")).json()
    assert listed["total"] == 1
    assert (await client.get("/companies")).json()["total"] == 1


async def test_an_empty_external_id_means_none(client: httpx.AsyncClient) -> None:
    first = await client.post("/deals", json={"title": "Заказ", "external_id": ""})
    second = await client.post("/deals", json={"title": "Заказ", "external_id": "  "})
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert first.json()["external_id"] is None and second.json()["external_id"] is None
    repeated = await client.post("/deals", json={"title": "Заказ", "external_id": "A-1"})
    again = await client.post("/deals", json={"title": "Заказ", "external_id": "A-1"})
    assert (repeated.status_code, again.status_code) == (201, 409)
    assert again.json()["existing_id"] == repeated.json()["id"]


async def test_an_order_pushed_twice_is_one_deal_updated(client: httpx.AsyncClient) -> None:
    created = await client.put(
        "/deals/by-external-id/ORDER-17", json={"title": "Заказ №17", "amount": "1500.00"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["external_id"] == "ORDER-17"
    updated = await client.put(
        "/deals/by-external-id/ORDER-17", json={"amount": "1750.50", "stage": "won"}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["id"] == created.json()["id"]
    assert (updated.json()["amount"], updated.json()["stage"]) == ("1750.50", "won")
    closed = await client.put("/deals/by-external-id/ORDER-17", json={"stage": "lost"})
    assert_422(closed, "stage")  # a won deal is closed: no move, a reason, not a 500
    lost = await client.put(
        "/deals/by-external-id/ORDER-19",
        json={"title": "Отказ", "stage": "lost", "lost_reason": "передумал"},
    )
    assert lost.status_code == 201 and lost.json()["lost_reason"] == "передумал"
    missing_title = await client.put("/deals/by-external-id/ORDER-18", json={"amount": "5"})
    assert_422(missing_title, "title")
    assert (await client.get("/deals")).json()["total"] == 2


async def test_concurrent_pushes_of_one_order_make_one_deal(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(
        *(
            client.put("/deals/by-external-id/ORDER-9", json={"title": "Заказ", "amount": n})
            for n in range(20)
        )
    )
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert (await client.get("/deals")).json()["total"] == 1
