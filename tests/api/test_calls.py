"""Calls through HTTP: shape, filters, pagination, outcome."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from core.context import Actor, Ctx
from tests.api.conftest import make_call, make_user

CALL_KEYS = {
    "id",
    "provider",
    "provider_call_id",
    "direction",
    "status",
    "client_phone",
    "our_phone",
    "extension",
    "user_id",
    "contact_id",
    "started_at",
    "answered_at",
    "ended_at",
    "ring_seconds",
    "talk_seconds",
    "recording",
    "outcome",
    "summary",
}
T8 = datetime(2026, 11, 26, 8, tzinfo=UTC)
T9 = datetime(2026, 11, 26, 9, tzinfo=UTC)
T10 = datetime(2026, 11, 26, 10, tzinfo=UTC)


def ids(body: dict[str, object]) -> list[int]:
    items = body["items"]
    assert isinstance(items, list)
    return [item["id"] for item in items]


async def test_call_shape(client: httpx.AsyncClient, ctx: Ctx, system: Actor) -> None:
    anna = await make_user(ctx, system, "Анна", tg=1, extensions=("101",))
    call = await make_call(ctx, "abc", client="8 916 123-45-67", at=T8, extension="101")
    response = await client.get(f"/calls/{call.id}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= CALL_KEYS
    assert body["provider"] == "generic"
    assert body["provider_call_id"] == "abc"
    assert body["direction"] == "in"
    assert body["status"] == "answered"
    assert body["client_phone"] == "+79161234567"
    assert body["our_phone"] == "+74950000000"
    assert body["extension"] == "101"
    assert body["user_id"] == anna.id
    assert body["contact_id"] == call.contact_id is not None
    assert body["started_at"] == "2026-11-26T08:00:00+00:00"
    assert body["answered_at"] == "2026-11-26T08:00:05+00:00"
    assert body["ended_at"] == "2026-11-26T08:01:05+00:00"
    assert (body["ring_seconds"], body["talk_seconds"]) == (5, 60)


async def test_a_number_that_is_not_a_phone_is_shown_raw(
    client: httpx.AsyncClient, ctx: Ctx
) -> None:
    call = await make_call(ctx, "anon", client="anonymous", at=T8, answered=False)
    body = (await client.get(f"/calls/{call.id}")).json()
    assert body["client_phone"] == "anonymous"
    assert body["contact_id"] is None
    assert body["status"] == "missed"


async def test_filters_and_pagination(client: httpx.AsyncClient, ctx: Ctx, system: Actor) -> None:
    anna = await make_user(ctx, system, "Анна", tg=1, extensions=("101",))
    early = await make_call(ctx, "1", client="+79161234567", at=T8, extension="101")
    missed = await make_call(ctx, "2", client="+79160000002", at=T9, answered=False)
    outbound = await make_call(
        ctx, "3", client="+79161234567", at=T10, extension="101", direction="out"
    )
    everything = (await client.get("/calls")).json()
    assert ids(everything) == [outbound.id, missed.id, early.id]
    assert everything["total"] == 3
    page = (await client.get("/calls", params={"limit": 1, "offset": 1})).json()
    assert (ids(page), page["total"]) == ([missed.id], 3)
    window = {"since": "2026-11-26T12:00:00+03:00", "until": "2026-11-26T10:00:00Z"}
    assert ids((await client.get("/calls", params=window)).json()) == [missed.id]
    # An unencoded '+' of the offset arrives as a space; it still means +03:00.
    raw = await client.get("/calls?since=2026-11-26T12:30:00+03:00")
    assert ids(raw.json()) == [outbound.id]
    for params, expected in (
        ({"contact_id": early.contact_id}, [outbound.id, early.id]),
        ({"user_id": anna.id}, [outbound.id, early.id]),
        ({"status": "missed"}, [missed.id]),
        ({"status": "missed,answered"}, [outbound.id, missed.id, early.id]),
        ({"direction": "out"}, [outbound.id]),
        ({"direction": "in", "user_id": anna.id}, [early.id]),
    ):
        body = (await client.get("/calls", params=params)).json()
        assert ids(body) == expected, params
        assert body["total"] == len(expected), params


async def test_bad_filters_are_422_naming_the_field(client: httpx.AsyncClient) -> None:
    for params, field in (
        ({"since": "2026-11-26T12:00:00"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"status": "lost"}, "status"),
        ({"direction": "sideways"}, "direction"),
        ({"limit": 1000}, "limit"),
    ):
        response = await client.get("/calls", params=params)
        assert response.status_code == 422, params
        assert response.json()["field"] == field, params
        assert field in response.json()["detail"]


async def test_patch_records_outcome_and_summary(client: httpx.AsyncClient, ctx: Ctx) -> None:
    call = await make_call(ctx, "1", client="+79161234567", at=T8)
    response = await client.patch(
        f"/calls/{call.id}", json={"outcome": "interested", "summary": "Хочет счёт"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["outcome"], response.json()["summary"]) == ("interested", "Хочет счёт")
    only_summary = await client.patch(f"/calls/{call.id}", json={"summary": "Перезвонить"})
    assert only_summary.json()["outcome"] == "interested"
    bad = await client.patch(f"/calls/{call.id}", json={"outcome": "happy", "summary": "x"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "outcome"
    stored = (await client.get(f"/calls/{call.id}")).json()
    assert (stored["outcome"], stored["summary"]) == ("interested", "Перезвонить")
    missing = await client.patch("/calls/999", json={"outcome": "interested"})
    assert missing.status_code == 404
    assert missing.json() == {"detail": "call 999 not found"}
    assert (await client.get("/calls/999")).status_code == 404
