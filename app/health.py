"""Liveness and readiness (GET and HEAD).

1. `/healthz`: the process is up; 200 `{"status": "ok"}`.
2. `/readyz`: every check by name, `"ok"` or what is wrong: `database` (answers and is
   migrated), then each running component that reports readiness (`readiness()` on the
   components in `app.state.components`, e.g. the bot: "connecting" until Telegram has
   answered, "stopped" when it gave up). 200 `{"status": "ready", "schema": ..., "database":
   "ok", "bot": "ok"}` when all are ok, else 503 with `"status": "unavailable"` and a `detail`
   naming the first check that is not. A component that is not configured is not listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def component_checks(components: Iterable[Any]) -> dict[str, str]:
    """What each component that reports readiness says ("ok" or its state)."""
    found: dict[str, str] = {}
    for component in components:
        readiness: Callable[[], str | None] | None = getattr(component, "readiness", None)
        state = readiness() if readiness is not None else None
        if state is not None:
            found[component.name] = state
    return found


def router(sessions: async_sessionmaker[AsyncSession]) -> APIRouter:
    routes = APIRouter(tags=["health"])

    @routes.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @routes.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """The database answers and is migrated, and every running component is ready."""
        try:
            async with sessions() as session:
                version = await session.scalar(text("SELECT version_num FROM alembic_version"))
        except Exception as exc:  # readiness must report, not crash
            name = type(exc).__name__
            return JSONResponse(
                status_code=503,
                content={"status": "unavailable", "detail": name, "database": name},
            )
        checks = {"database": "ok"}
        checks |= component_checks(getattr(request.app.state, "components", ()))
        failing = [f"{name}: {state}" for name, state in checks.items() if state != "ok"]
        if failing:
            content = {"status": "unavailable", "schema": version, **checks}
            return JSONResponse(status_code=503, content={**content, "detail": failing[0]})
        return JSONResponse(content={"status": "ready", "schema": version, **checks})

    async def head_healthz() -> Response:
        return Response(status_code=200)

    async def head_readyz(request: Request) -> Response:
        answer = await readyz(request)
        return Response(status_code=answer.status_code)

    # HEAD for load balancers and uptime probes; kept out of the OpenAPI document.
    routes.add_api_route("/healthz", head_healthz, methods=["HEAD"], include_in_schema=False)
    routes.add_api_route("/readyz", head_readyz, methods=["HEAD"], include_in_schema=False)
    return routes
