"""Liveness and readiness (GET and HEAD).

1. `/healthz`: the process is up; 200 `{"status": "ok"}`.
2. `/readyz`: every check by name, `"ok"` or what is wrong, at the top level and under
   `checks`: `database` (answers), `migrations` (the schema is the one this code expects:
   else "behind: …", or "ahead: …" when the database was upgraded by a newer version), then
   each running component that reports readiness (`readiness()` on the components in
   `app.state.components`: the bot, "connecting" until Telegram has answered, "stopped" when
   it gave up; the scheduler, "starting" until its jobs are scheduled). 200 with
   `"status": "ready"` when all are ok, else 503 with `"status": "unavailable"` and a
   `detail` naming the first check that is not. A component that is not configured (or not
   run by this process) is not listed.
"""

from __future__ import annotations

import functools
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


@functools.cache
def expected_revisions() -> frozenset[str]:
    """The migration heads this code ships (read once from the migration scripts)."""
    from alembic.script import ScriptDirectory

    from core.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


@functools.cache
def known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    from core.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config(""))
    return frozenset(s.revision for s in scripts.walk_revisions())


def migrations_state(version: str | None) -> str:
    """ "ok" when the database is at this code's head; else what `perezvon db upgrade` (or a
    newer Perezvon) would change."""
    heads = expected_revisions()
    if version in heads:
        return "ok"
    wanted = ",".join(sorted(heads))
    if version is None:
        return f"behind: not migrated, this version expects {wanted} (perezvon db upgrade)"
    if version in known_revisions():
        return f"behind: at {version}, this version expects {wanted} (perezvon db upgrade)"
    return f"ahead: at {version}, unknown to this version (expects {wanted}): upgrade Perezvon"


def router(sessions: async_sessionmaker[AsyncSession]) -> APIRouter:
    routes = APIRouter(tags=["health"])

    @routes.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @routes.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """The database answers and is migrated, and every running component is ready."""
        version: str | None = None
        try:
            async with sessions() as session:
                version = await session.scalar(text("SELECT version_num FROM alembic_version"))
            checks = {"database": "ok", "migrations": migrations_state(version)}
        except Exception as exc:  # readiness must report, not crash
            checks = {"database": type(exc).__name__, "migrations": "unknown"}
        checks |= component_checks(getattr(request.app.state, "components", ()))
        failing = [f"{name}: {state}" for name, state in checks.items() if state != "ok"]
        content: dict[str, Any] = {"status": "unavailable" if failing else "ready"}
        content |= {"schema": version, **checks, "checks": checks}
        if failing:
            return JSONResponse(status_code=503, content={**content, "detail": failing[0]})
        return JSONResponse(content=content)

    async def head_healthz() -> Response:
        return Response(status_code=200)

    async def head_readyz(request: Request) -> Response:
        answer = await readyz(request)
        return Response(status_code=answer.status_code)

    # HEAD for load balancers and uptime probes; kept out of the OpenAPI document.
    routes.add_api_route("/healthz", head_healthz, methods=["HEAD"], include_in_schema=False)
    routes.add_api_route("/readyz", head_readyz, methods=["HEAD"], include_in_schema=False)
    return routes
