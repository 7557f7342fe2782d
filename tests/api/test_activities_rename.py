"""PATCH /activities/{id} renames a planned task (issue 21, defect 3); audited; a finished or
someone else's task is refused, an empty title is a 422 naming the field."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from core.context import Actor, Ctx
from core.models.audit import AuditLog


async def test_a_planned_activity_is_renamed_and_audited(
    client: httpx.AsyncClient, ctx: Ctx, system: Actor
) -> None:
    task = (await client.post("/activities", json={"title": "Позвонить"})).json()
    renamed = await client.patch(f"/activities/{task['id']}", json={"title": "Отправить КП"})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["title"], renamed.json()["status"]) == ("Отправить КП", "planned")
    actions = await ctx.session.scalars(
        select(AuditLog.action).where(AuditLog.entity == "activity").order_by(AuditLog.id)
    )
    assert list(actions) == ["plan", "rename"]

    empty = await client.patch(f"/activities/{task['id']}", json={"title": " "})
    assert empty.status_code == 422 and empty.json()["field"] == "title"
    missing = await client.patch("/activities/999", json={"title": "x"})
    assert missing.status_code == 404
    await client.post(f"/activities/{task['id']}/cancel")
    finished = await client.patch(f"/activities/{task['id']}", json={"title": "Ещё"})
    assert finished.status_code == 422 and finished.json()["field"] == "status"
