"""Health probes answer HEAD as well as GET (load balancers and uptime monitors send HEAD),
and /readyz names each check, listing only the components that run."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.http import create_app
from app.settings import Settings
from app.wiring import Container
from telephony_webhooks.context import WebContext


async def test_head_on_healthz_and_readyz_answers_200_without_a_body(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    app = create_app(WebContext(sessions=sessions))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm"
    ) as http:
        health = await http.head("/healthz")
        ready = await http.head("/readyz")
        spec = (await http.get("/openapi.json")).json()

    assert (health.status_code, ready.status_code) == (200, 200)
    assert (health.content, ready.content) == (b"", b"")
    assert set(spec["paths"]["/healthz"]) == {"get"}  # HEAD is not a documented operation


async def test_readyz_names_the_database_check_and_no_bot_when_none_runs(database_url: str) -> None:
    container = Container.build(Settings(database_url=database_url))
    app = container.http_app([])
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://crm") as http,
    ):
        ready = await http.get("/readyz")

    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["database"]) == ("ready", "ok")
    assert "bot" not in body and body["schema"]
