"""Imports through the app under concurrency and key scopes: never a 5xx, never a double write.

Issue 15, defect 8 (three identical imports applied at once answered one 500) and defect 11
(a `read` key got 403 on a dry run, which writes nothing).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.imports.models import ImportJob
from tests.api.conftest import as_key, key
from tests.exports.files import HEADER_RU, csv_bytes

ROWS = [[f"Клиент {n}", f"+7916{n:07d}", "", "", "", "", "", ""] for n in range(1, 1201)]
BIG_CSV = csv_bytes(HEADER_RU, ROWS, delimiter=";", encoding="utf-8")


def _upload(data: bytes, name: str = "clients.csv") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, data, "text/csv")}


async def _count(ctx: Ctx, model: type[Contact] | type[ImportJob]) -> int:
    ctx.session.expire_all()
    count = await ctx.session.scalar(select(func.count()).select_from(model))
    await ctx.session.commit()
    return int(count or 0)


async def test_three_identical_imports_applied_at_once_write_once_and_never_answer_5xx(
    client: httpx.AsyncClient, ctx: Ctx
) -> None:
    async def apply() -> httpx.Response:
        return await client.post(
            "/imports", files=_upload(BIG_CSV), data={"apply": "true", "policy": "fill"}
        )

    responses = await asyncio.gather(apply(), apply(), apply())
    assert [r.status_code for r in responses] == [200] * 3, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    # They share one job: each batch written once, each answer the job's totals.
    assert len({body["job_id"] for body in bodies}) == 1
    assert {(body["new"], body["applied"]) for body in bodies} == {(len(ROWS), True)}
    assert await _count(ctx, Contact) == len(ROWS)
    assert await _count(ctx, ImportJob) == 1
    job_id = bodies[0]["job_id"]

    # Once it is done, the same file answers "already done" with the totals.
    again = await client.post(
        "/imports", files=_upload(BIG_CSV), data={"apply": "true", "policy": "fill"}
    )
    assert again.status_code == 200, again.text
    assert (again.json()["already_done"], again.json()["job_id"]) == (True, job_id)
    assert again.json()["new"] == len(ROWS)


@pytest.mark.parametrize("role", ["read", "integration"])
async def test_a_read_or_integration_key_may_dry_run_but_not_apply(
    app: FastAPI, ctx: Ctx, system: Actor, role: str
) -> None:
    small = BIG_CSV[:2000].rsplit(b"\n", 1)[0] + b"\n"
    async with as_key(app, await key(ctx, system, role)) as http:
        dry = await http.post("/imports", files=_upload(small))
        assert dry.status_code == 200, dry.text
        assert dry.json()["applied"] is False and dry.json()["new"] > 0
        rejected = await http.post("/imports/rejected.xlsx", files=_upload(small))
        assert rejected.status_code == 200, rejected.text
        applied = await http.post("/imports", files=_upload(small), data={"apply": "true"})
        assert applied.status_code == 403, applied.text
        assert f"scoped {role!r}" in applied.json()["detail"]
    assert await _count(ctx, Contact) == 0
    assert await _count(ctx, ImportJob) == 0
