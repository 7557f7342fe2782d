"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def router(sessions: async_sessionmaker[AsyncSession]) -> APIRouter:
    routes = APIRouter(tags=["health"])

    @routes.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @routes.get("/readyz")
    async def readyz() -> JSONResponse:
        """The database answers and is migrated."""
        try:
            async with sessions() as session:
                version = await session.scalar(text("SELECT version_num FROM alembic_version"))
        except Exception as exc:  # readiness must report, not crash
            return JSONResponse(
                status_code=503, content={"status": "unavailable", "detail": type(exc).__name__}
            )
        return JSONResponse(content={"status": "ready", "schema": version})

    return routes
