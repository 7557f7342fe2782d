"""Health probes answer HEAD as well as GET (load balancers and uptime monitors send HEAD),
and /readyz names each check, listing only the components that run."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.components import Scheduler
from app.http import create_app
from app.settings import Settings
from app.wiring import Container
from core.db import create_engine, session_factory
from telephony_webhooks.context import WebContext
from tests.app.conftest import client_of


async def test_head_on_healthz_and_readyz_answers_200_without_a_body(
    web: httpx.AsyncClient,
) -> None:
    health = await web.head("/healthz")
    ready = await web.head("/readyz")
    spec = (await web.get("/openapi.json")).json()

    assert (health.status_code, ready.status_code) == (200, 200)
    assert (health.content, ready.content) == (b"", b"")
    assert set(spec["paths"]["/healthz"]) == {"get"}  # HEAD is not a documented operation


async def test_readyz_names_the_database_check_and_no_bot_when_none_runs(database_url: str) -> None:
    container = Container.build(Settings(database_url=database_url))
    app = container.http_app([])
    async with (
        app.router.lifespan_context(app),
        client_of(app) as http,
    ):
        ready = await http.get("/readyz")

    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["database"]) == ("ready", "ok")
    assert "bot" not in body and body["schema"]


async def _ready(app: Any) -> httpx.Response:
    async with client_of(app) as http:
        return await http.get("/readyz")


async def test_readyz_names_migrations_and_a_running_scheduler(database_url: str) -> None:
    container = Container.build(Settings(database_url=database_url))
    scheduler = Scheduler()
    app = container.http_app([scheduler])
    async with app.router.lifespan_context(app):
        ready = await _ready(app)
    stopped = scheduler.readiness()

    assert ready.status_code == 200
    body = ready.json()
    assert body["checks"] == {"database": "ok", "migrations": "ok", "scheduler": "ok"}
    assert (body["status"], body["scheduler"], body["migrations"]) == ("ready", "ok", "ok")
    assert stopped is None  # a scheduler that is not running is not this process' concern


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize(
    ("version", "state"),
    [
        ("0011", "behind: at 0011, this version expects"),
        ("9999_from_the_future", "ahead: at 9999_from_the_future, unknown to this version"),
    ],
)
async def test_readyz_is_503_while_the_schema_is_not_the_one_this_code_expects(
    database_url: str, version: str, state: str
) -> None:
    container = Container.build(Settings(database_url=database_url))
    app = container.http_app([])
    async with container.engine.begin() as conn:
        head = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})
    try:
        async with app.router.lifespan_context(app):
            answer = await _ready(app)
    finally:
        restore = create_engine(database_url)
        async with restore.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        await restore.dispose()

    assert answer.status_code == 503
    body = answer.json()
    assert body["migrations"].startswith(state) and body["database"] == "ok"
    assert body["detail"].startswith(f"migrations: {state}")
    assert body["schema"] == version


async def test_readyz_is_503_naming_the_database_when_it_does_not_answer() -> None:
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    app = create_app(WebContext(sessions=session_factory(engine)))
    try:
        answer = await _ready(app)
    finally:
        await engine.dispose()

    assert answer.status_code == 503
    body = answer.json()
    assert body["checks"]["migrations"] == "unknown" and body["database"] != "ok"
    assert body["detail"] == f"database: {body['database']}"
