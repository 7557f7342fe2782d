"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from telephony_webhooks.context import web_context


def router() -> APIRouter:
    routes = APIRouter(tags=["health"])

    @routes.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @routes.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """The database answers and is migrated."""
        web = web_context(request)
        try:
            async with web.sessions() as session:
                version = await session.scalar(text("SELECT version_num FROM alembic_version"))
        except Exception as exc:  # readiness must report, not crash
            return JSONResponse(
                status_code=503, content={"status": "unavailable", "detail": type(exc).__name__}
            )
        return JSONResponse(content={"status": "ready", "schema": version})

    return routes
