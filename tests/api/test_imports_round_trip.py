"""The contacts export through the API, imported back: the response names what changes."""

from __future__ import annotations

import httpx

from core.contacts import service as contacts
from core.context import Actor, Ctx


async def test_export_imports_back_unchanged_and_an_edit_is_listed_by_field(
    client: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    made = await contacts.create_contact(
        ctx, actor=system, name="Иван", phones=["+79161112233"], timezone="Europe/Moscow"
    )
    made_id = made.id
    await contacts.create_contact(ctx, actor=system, name="Пётр", phones=["+79164445566"])
    exported = await client.get("/exports/contacts.csv", params={"locale": "en"})
    assert exported.status_code == 200
    data = exported.content
    form = {"policy": "overwrite"}
    same = await client.post("/imports", files={"file": ("c.csv", data, "text/csv")}, data=form)
    body = same.json()
    assert (body["updated"], body["unchanged"], body["changes"]) == (0, 2, [])
    assert body["duplicate_rows"] == []
    edited = data.replace(b"Europe/Moscow", b"Asia/Omsk") + data.splitlines(keepends=True)[1]
    reply = await client.post("/imports", files={"file": ("c.csv", edited, "text/csv")}, data=form)
    body = reply.json()
    assert body["changes"] == [{"row": 2, "contact_id": made_id, "fields": ["timezone"]}]
    assert (body["updated"], body["unchanged"], body["duplicate"]) == (1, 1, 1)
    assert body["duplicate_rows"] == [{"row": 4, "duplicate_of": 2}]
