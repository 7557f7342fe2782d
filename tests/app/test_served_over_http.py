"""The app served by a real uvicorn on 127.0.0.1: 500s, access-log redaction, slow clients."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.http import create_app
from app.server import uvicorn_config
from core.config import CoreConfig
from telephony_webhooks import webhooks
from telephony_webhooks.context import WebContext
from tests.fakes.clock import FakeClock
from tests.fakes.twilio_signer import GENERIC_TOKEN
from tests.ports import free_port
from tests.telephony.conftest import SECRETS
from tests.waits import wait_until

SHUTDOWN_SECONDS = 1


@dataclass
class Served:
    host: str
    port: int
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> float:
        """Ask for a graceful shutdown (as SIGTERM does); seconds until the server is gone."""
        started = time.monotonic()
        self.server.should_exit = True
        await asyncio.wait_for(self.task, timeout=30)
        return time.monotonic() - started


def _boom_router() -> APIRouter:
    routes = APIRouter()

    @routes.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    return routes


@pytest.fixture
async def served(
    sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock
) -> AsyncIterator[Served]:
    web = WebContext(
        sessions=sessions, config=config, clock=clock, provider_secrets=SECRETS, process_inbox=False
    )
    app = create_app(web, extra_routers=[_boom_router()])
    port = free_port()
    server = uvicorn.Server(
        uvicorn_config(
            app,
            host="127.0.0.1",
            port=port,
            shutdown_seconds=SHUTDOWN_SECONDS,
            access_log=True,  # off by default; on here to see what it would write
        )
    )
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started or task.done(), within=30)
    assert server.started, "uvicorn did not start"
    running = Served("127.0.0.1", port, server, task)
    yield running
    if not task.done():
        await running.stop()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


async def test_an_unexpected_error_is_a_json_500_and_the_connection_stays_usable(
    served: Served,
) -> None:
    reader, writer = await asyncio.open_connection(served.host, served.port)
    try:
        writer.write(b"GET /boom HTTP/1.1\r\nHost: crm\r\n\r\n")
        status, headers, body = await _read_response(reader)
        assert status == 500 and json.loads(body) == {"detail": "internal error"}
        assert headers["content-type"] == "application/json"
        assert headers.get("connection", "").lower() != "close"
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: crm\r\n\r\n")  # the same connection
        status, _headers, body = await _read_response(reader)
        assert (status, json.loads(body)) == (200, {"status": "ok"})
    finally:
        writer.close()


@pytest.mark.parametrize("name", ["%74oken", "tok%65n", "TOKEN", "%2574oken"])
async def test_the_access_log_masks_a_secret_however_its_name_is_encoded(
    served: Served, name: str
) -> None:
    # uvicorn's own access handlers, with the filters `perezvon run` configures, into a buffer.
    written = io.StringIO()
    handlers = [
        h
        for h in logging.getLogger("uvicorn.access").handlers
        if type(h) is logging.StreamHandler  # not pytest's capture handlers
    ]
    assert handlers and all(h.filters for h in handlers)
    for handler in handlers:
        handler.setStream(written)
    async with httpx.AsyncClient(base_url=served.url) as http:
        response = await http.get(
            f"/webhooks/generic/lookup?phone=%2B79161234567&{name}={GENERIC_TOKEN}"
        )
        for other in ("%6Bey", "%61pi_key", "crm%5Ftoken"):
            await http.get(f"/api/v1/users?{other}={GENERIC_TOKEN}")
    assert response.status_code in (200, 401)
    await served.stop()
    log = written.getvalue()
    assert "/webhooks/generic/lookup?phone=" in log  # the access line is there…
    assert GENERIC_TOKEN not in log  # …without the token
    assert f"{name}=***" in log and "%6Bey=***" in log and "%61pi_key=***" in log


async def test_a_client_that_never_finishes_its_body_does_not_hold_shutdown(
    served: Served,
) -> None:
    held = []
    for path in ("/api/v1/contacts", "/webhooks/generic"):
        reader, writer = await asyncio.open_connection(served.host, served.port)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: crm\r\nContent-Type: application/json\r\n"
            f"x-perezvon-token: {GENERIC_TOKEN}\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"event":'
        )
        await writer.drain()
        held.append((reader, writer))
    await asyncio.sleep(0.2)  # both requests are now waiting for the rest of their body
    assert await served.stop() < SHUTDOWN_SECONDS + 2
    for _reader, writer in held:
        writer.close()


async def test_a_webhook_body_that_stops_arriving_is_a_408(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "BODY_READ_SECONDS", 0.3)
    reader, writer = await asyncio.open_connection(served.host, served.port)
    try:
        writer.write(
            b"POST /webhooks/generic HTTP/1.1\r\nHost: crm\r\nContent-Type: application/json\r\n"
            + f"x-perezvon-token: {GENERIC_TOKEN}\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"event":'
        )
        status, _headers, body = await _read_response(reader)
        assert status == 408 and "did not arrive" in json.loads(body)["detail"]
    finally:
        writer.close()
