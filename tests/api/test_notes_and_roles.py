"""Notes edited and deleted, roles changed and people switched off and on, through HTTP."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.context import Actor, Ctx
from core.models.audit import AuditLog
from core.users import service as users
from tests.api.conftest import as_key, key, make_user
from tests.fakes.clock import FakeClock


async def _audit(
    sessions: async_sessionmaker[AsyncSession], entity: str, entity_id: int
) -> list[tuple[str, object]]:
    async with sessions() as session:
        rows = await session.execute(
            select(AuditLog.action, AuditLog.changes)
            .where(AuditLog.entity == entity, AuditLog.entity_id == entity_id)
            .order_by(AuditLog.id)
        )
        return [(action, changes) for action, changes in rows.tuples()]


async def _contact_with_note(client: httpx.AsyncClient, name: str, text: str) -> tuple[int, int]:
    contact = await client.post("/contacts", json={"name": name})
    assert contact.status_code == 201, contact.text
    note = await client.post(f"/contacts/{contact.json()['id']}/notes", json={"text": text})
    assert note.status_code == 201, note.text
    return contact.json()["id"], note.json()["id"]


async def test_a_note_is_edited_and_deleted_and_the_old_text_is_audited(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    contact, note = await _contact_with_note(client, "Иван", "Просил счёт")
    url = f"/contacts/{contact}/notes/{note}"

    edited = await client.patch(url, json={"text": "  Просил счёт на 450 000 ₽  "})
    assert edited.status_code == 200, edited.text
    assert edited.json()["text"] == "Просил счёт на 450 000 ₽"
    assert (await client.get(url)).json()["text"] == "Просил счёт на 450 000 ₽"

    blank = await client.patch(url, json={"text": "   "})
    assert blank.status_code == 422
    assert blank.json()["field"] == "text"
    unknown = await client.patch(url, json={"txt": "x"})
    assert unknown.status_code == 422

    deleted = await client.delete(url)
    assert deleted.status_code == 204
    assert (await client.get(url)).status_code == 404
    timeline = (await client.get(f"/contacts/{contact}/timeline")).json()
    assert timeline["total"] == 0
    again = await client.delete(url)
    assert again.status_code == 404
    assert again.json()["detail"] == f"note {note} of contact {contact} not found"

    assert await _audit(sessions, "note", note) == [
        ("create", {"contact_id": contact}),
        ("update", {"text": "Просил счёт на 450 000 ₽", "was": "Просил счёт"}),
        ("delete", {"contact_id": contact, "text": "Просил счёт на 450 000 ₽", "kind": "note"}),
    ]


async def test_a_contacts_notes_are_listed_newest_first_one_page_at_a_time(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    contact, first = await _contact_with_note(client, "Иван", "Первая")
    clock.advance(minutes=1)
    second = (await client.post(f"/contacts/{contact}/notes", json={"text": "Вторая"})).json()
    await client.post("/activities", json={"title": "Позвонить", "contact_id": contact})
    await _contact_with_note(client, "Пётр", "Чужая")  # another contact's note stays out

    listed = (await client.get(f"/contacts/{contact}/notes")).json()
    assert listed["total"] == 2
    assert [(n["id"], n["text"]) for n in listed["items"]] == [
        (second["id"], "Вторая"),
        (first, "Первая"),
    ]
    page = (await client.get(f"/contacts/{contact}/notes", params={"limit": 1, "offset": 1})).json()
    assert ([n["id"] for n in page["items"]], page["total"]) == ([first], 2)
    assert (await client.get("/contacts/999/notes")).status_code == 404
    bad = await client.get(f"/contacts/{contact}/notes", params={"limit": 0})
    assert (bad.status_code, bad.json()["field"]) == (422, "limit")


async def test_a_note_is_reached_only_through_its_own_contact(client: httpx.AsyncClient) -> None:
    ivan, note = await _contact_with_note(client, "Иван", "Просил счёт")
    petr = (await client.post("/contacts", json={"name": "Пётр"})).json()["id"]
    for response in (
        await client.patch(f"/contacts/{petr}/notes/{note}", json={"text": "чужое"}),
        await client.delete(f"/contacts/{petr}/notes/{note}"),
        await client.patch("/contacts/999/notes/1", json={"text": "x"}),
    ):
        assert response.status_code == 404, response.text
    assert (await client.get(f"/contacts/{ivan}/notes/{note}")).json()["text"] == "Просил счёт"


async def test_only_an_admin_key_edits_notes_or_users(
    app: FastAPI, client: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    contact, note = await _contact_with_note(client, "Иван", "Просил счёт")
    anna = await make_user(ctx, system, "Анна", tg=101)
    for role in ("read", "integration"):
        async with as_key(app, await key(ctx, system, role)) as http:
            for method, path, body in (
                ("PATCH", f"/contacts/{contact}/notes/{note}", {"text": "x"}),
                ("DELETE", f"/contacts/{contact}/notes/{note}", None),
                ("PATCH", f"/users/{anna.id}", {"role": "admin"}),
                ("PATCH", f"/users/{anna.id}", {"active": False}),
            ):
                response = await http.request(method, path, json=body)
                assert response.status_code == 403, (role, path, response.text)
                assert f"scoped '{role}'" in response.json()["detail"]
    assert (await client.get(f"/contacts/{contact}/notes/{note}")).json()["text"] == "Просил счёт"
    assert (await client.get(f"/users/{anna.id}")).json()["role"] == "sales"


async def test_an_admin_key_changes_roles_and_switches_people_off_and_on(
    client: httpx.AsyncClient, ctx: Ctx, system: Actor, sessions: async_sessionmaker[AsyncSession]
) -> None:
    anna = await make_user(ctx, system, "Анна", tg=101, extensions=("101",))

    promoted = await client.patch(f"/users/{anna.id}", json={"role": "manager"})
    assert promoted.status_code == 200, promoted.text
    assert (promoted.json()["role"], promoted.json()["active"]) == ("manager", True)
    assert promoted.json()["extensions"] == ["101"]

    off = await client.patch(f"/users/{anna.id}", json={"active": False})
    assert (off.status_code, off.json()["active"]) == (200, False)
    assert (await client.get("/users", params={"active_only": "true"})).json()["total"] == 0

    back = await client.patch(f"/users/{anna.id}", json={"active": True, "role": "sales"})
    assert back.status_code == 200
    assert (back.json()["role"], back.json()["active"]) == ("sales", True)

    nothing = await client.patch(f"/users/{anna.id}", json={})
    assert (nothing.status_code, nothing.json()) == (200, back.json())

    bad = await client.patch(f"/users/{anna.id}", json={"role": "boss"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "role"
    missing = await client.patch("/users/999", json={"active": False})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "user 999 not found"

    entries = await _audit(sessions, "user", anna.id)
    assert [action for action, _ in entries] == [
        "create",
        "update",
        "deactivate",
        "update",
        "activate",
    ]
    assert entries[1][1] == {"role": {"from": "sales", "to": "manager"}}
    assert entries[3][1] == {"role": {"from": "manager", "to": "sales"}}


async def test_the_last_admin_can_be_neither_demoted_nor_switched_off(
    client: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    anna = await users.create_user(ctx, actor=system, name="Анна", role="admin", telegram_user_id=1)
    boris = await make_user(ctx, system, "Борис", tg=2)

    for body in ({"role": "manager"}, {"active": False}, {"role": "sales", "active": False}):
        refused = await client.patch(f"/users/{anna.id}", json=body)
        assert refused.status_code == 409, (body, refused.text)
        assert refused.json() == {
            "detail": "Анна is the last active admin",
            "existing_id": anna.id,
        }
    same = (await client.get(f"/users/{anna.id}")).json()
    assert (same["role"], same["active"]) == ("admin", True)

    # With a second admin, the first may step down; then the second is the last one.
    assert (await client.patch(f"/users/{boris.id}", json={"role": "admin"})).status_code == 200
    down = await client.patch(f"/users/{anna.id}", json={"role": "sales", "active": False})
    assert down.status_code == 200, down.text
    assert (down.json()["role"], down.json()["active"]) == ("sales", False)
    last = await client.patch(f"/users/{boris.id}", json={"active": False})
    assert last.status_code == 409
    assert last.json()["detail"] == "Борис is the last active admin"
