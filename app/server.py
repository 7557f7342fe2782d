"""How Perezvon is served by uvicorn: redacted logs and bounded waits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.logs import json_uvicorn_log_config, uvicorn_log_config

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

# A client that keeps a connection open without finishing its request (a body announced and
# never sent) would hold a graceful shutdown for as long as it likes: after this many seconds
# the shutdown cancels what is left. Webhook bodies have their own, shorter bound.
DEFAULT_SHUTDOWN_SECONDS = 10
KEEP_ALIVE_SECONDS = 5


def uvicorn_config(
    app: FastAPI,
    *,
    host: str,
    port: int,
    shutdown_seconds: int = DEFAULT_SHUTDOWN_SECONDS,
    access_log: bool = False,
    log_format: str = "text",
) -> uvicorn.Config:
    """The uvicorn config `perezvon run` serves with (also used by the server tests)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        log_config=json_uvicorn_log_config() if log_format == "json" else uvicorn_log_config(),
        access_log=access_log,
        timeout_graceful_shutdown=shutdown_seconds,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
