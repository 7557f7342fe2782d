"""The `/webhooks` ASGI app that runs ahead of FastAPI: routing, methods, edge cases."""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import TelephonyEvent
from telephony_webhooks.providers import generic
from tests.fakes.pbx_signers import zadarma_echo
from tests.fakes.twilio_signer import GENERIC_TOKEN
from tests.telephony.conftest import Pbx

EVENT = {"event": "ringing", "call_id": "r-1", "direction": "in", "from": "+79160001122"}
TOKEN = {"x-perezvon-token": GENERIC_TOKEN}


async def stored(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(TelephonyEvent)) or 0


async def test_unknown_path_under_webhooks_is_404_with_a_reason(pbx: Pbx) -> None:
    for path in ("/webhooks/nope", "/webhooks/", "/webhooks/twilio/a/b", "/webhooks/twilio/"):
        response = await pbx.client.post(path, content=b"{}")
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not Found"}


async def test_wrong_method_is_405_naming_the_allowed_ones(pbx: Pbx) -> None:
    response = await pbx.client.get("/webhooks/generic")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["detail"] == "Method Not Allowed"


async def test_head_answers_like_get_without_a_body(pbx: Pbx) -> None:
    echo = zadarma_echo("abc123")
    got = await pbx.client.get("/webhooks/zadarma", params=dict(echo.query))
    head = await pbx.client.head("/webhooks/zadarma", params=dict(echo.query))
    assert (got.status_code, got.text) == (200, "abc123")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]


async def test_text_replies_say_their_charset(pbx: Pbx) -> None:
    response = await pbx.send(zadarma_echo("x"), "zadarma")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_event_posted_under_a_root_path_is_stored(pbx: Pbx, session: AsyncSession) -> None:
    transport = httpx.ASGITransport(app=pbx.app, root_path="/crm")
    async with httpx.AsyncClient(transport=transport, base_url="https://crm.example.com") as c:
        response = await c.post("/crm/webhooks/generic", json=EVENT, headers=TOKEN)
    assert response.status_code == 200, response.text
    assert await stored(session) == 1


async def test_other_paths_still_go_through_fastapi(pbx: Pbx) -> None:
    assert (await pbx.client.get("/healthz")).status_code == 200
    spec = (await pbx.client.get("/openapi.json")).json()
    assert "/webhooks/generic" in spec["paths"] and "/webhooks/zadarma" in spec["paths"]
    assert (await pbx.client.get("/webhooksX")).status_code == 404


async def test_the_documented_fastapi_routes_give_the_same_answers(
    pbx: Pbx, session: AsyncSession
) -> None:
    """The routes declared for /docs run the same pipeline when FastAPI itself routes."""
    transport = httpx.ASGITransport(app=partial(FastAPI.__call__, pbx.app))
    async with httpx.AsyncClient(transport=transport, base_url="https://crm.example.com") as c:
        ok = await c.post("/webhooks/generic", json=EVENT, headers=TOKEN)
        bad = await c.post("/webhooks/generic", json=EVENT, headers={"x-perezvon-token": "no"})
    assert ok.status_code == 200, ok.text
    assert bad.status_code == 401 and bad.json()["detail"]
    assert await stored(session) == 1


async def test_a_pbx_that_hangs_up_mid_body_stores_nothing(pbx: Pbx, session: AsyncSession) -> None:
    messages = iter(
        [
            {"type": "http.request", "body": b'{"event": "ring', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/webhooks/generic",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"x-perezvon-token", GENERIC_TOKEN.encode())],
        "client": ("127.0.0.1", 5000),
    }
    await pbx.app(scope, receive, send)
    assert sent == []
    assert await stored(session) == 0


async def test_a_body_in_several_chunks_is_read_whole(pbx: Pbx, session: AsyncSession) -> None:
    body = json.dumps(EVENT).encode()

    async def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    response = await pbx.client.post("/webhooks/generic", content=chunks(), headers=TOKEN)
    assert response.status_code == 200, response.text
    assert await stored(session) == 1


async def test_a_bug_in_an_adapter_is_a_500_with_a_reason_and_is_logged(
    pbx: Pbx,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(_request: object) -> None:
        raise RuntimeError("adapter bug")

    monkeypatch.setattr(generic, "accept", broken)
    with caplog.at_level(logging.ERROR):
        response = await pbx.client.post("/webhooks/generic", json=EVENT, headers=TOKEN)
    assert response.status_code == 500
    assert "not stored" in response.json()["detail"]
    assert "adapter bug" in caplog.text
    assert await stored(session) == 0
