"""The composed ASGI app: every operation recorded before the REST API moved to `api/` remains."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.http import create_app
from telephony_webhooks.context import WebContext
from tests.app.conftest import client_of

# (path, method, operationId) of the OpenAPI document as it was before the move.
RECORDED = Path(__file__).with_name("openapi_operations.json")


def operations(spec: dict[str, dict[str, dict[str, dict[str, str]]]]) -> set[tuple[str, ...]]:
    return {
        (path, method, operation["operationId"])
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }


async def test_every_recorded_operation_keeps_its_path_and_operation_id(
    web: httpx.AsyncClient,
) -> None:
    spec = (await web.get("/openapi.json")).json()
    recorded = {tuple(row) for row in json.loads(RECORDED.read_text())}
    assert len(recorded) == 45
    assert recorded - operations(spec) == set()


async def test_extra_routers_are_served_beside_the_api_and_webhooks(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    extra = APIRouter()

    @extra.post("/telegram/webhook")
    async def telegram() -> dict[str, bool]:
        return {"ok": True}

    app = create_app(WebContext(sessions=sessions), extra_routers=[extra])
    async with (
        app.router.lifespan_context(app),
        client_of(app) as http,
    ):
        assert (await http.post("/telegram/webhook")).json() == {"ok": True}
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        assert (await http.get("/readyz")).json()["status"] == "ready"
        assert (await http.get("/api/v1/contacts")).status_code == 401
        disabled = await http.post("/webhooks/generic", content=b"{}")
        assert disabled.status_code == 404
        assert "GENERIC_TOKEN" in disabled.json()["detail"]
