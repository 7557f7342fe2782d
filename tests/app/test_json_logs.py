"""PEREZVON_LOG_FORMAT=json: every line the process writes is one JSON object, secrets masked,
with the request / update / inbox row it was written for; text stays the default."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.http import create_app
from app.logs import JsonFormatter, RedactSecrets, TextFormatter, configure_logging
from core.telemetry import log_context
from telephony_webhooks.context import WebContext
from tests.app.test_run import _get, perezvon_run

BOT_TOKEN = "123456789:AAHk3s0-secretsecretsecretsecret_xyz"
KEYS = {"time", "level", "logger", "message"}


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """A handler on the `perezvon.test` logger writing into a buffer (its formatter is set by
    each test)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("perezvon.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield buffer, handler
    logger.removeHandler(handler)


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_perezvon_run_in_json_writes_only_json_lines_banner_and_uvicorn_included(
    tmp_path: Path,
) -> None:
    env = {
        "PEREZVON_LOG_FORMAT": "json",
        "PEREZVON_ACCESS_LOG": "true",
        "PEREZVON_LOG_FORMATT": "json",  # misspelt: the warning about it is a JSON line too
        "PEREZVON_TELEGRAM_WEBHOOK_SECRET": "webhook-secret-value",
    }
    with perezvon_run(tmp_path, env=env) as (url, process):
        assert _get(url + "/webhooks/generic/lookup?phone=79161234567&token=run-token") == 200
        assert _get(url + "/healthz") == 200
        process.terminate()
        out, err = process.communicate(timeout=20)

    assert err == ""
    written = lines(out)  # every line parses, or this fails
    assert written and all(set(line) >= KEYS for line in written)
    messages = {(line["logger"], line["message"]) for line in written}
    assert any(m.startswith("Perezvon on http://127.0.0.1:") for _, m in messages)  # banner
    assert ("uvicorn.error", "Application startup complete.") in messages
    [warning] = [line for line in written if "PEREZVON_LOG_FORMATT" in line["message"]]
    assert warning["level"] == "WARNING"
    [access] = [
        line
        for line in written
        if line["logger"] == "uvicorn.access" and "lookup" in line["message"]
    ]
    assert access["status"] == 200 and access["method"] == "GET"
    assert "token=***" in access["path"]
    assert "run-token" not in out and "webhook-secret-value" not in out


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_secret_reaches_a_log_line_in_either_format(
    captured: tuple[io.StringIO, logging.Handler], log_format: str
) -> None:
    buffer, handler = captured
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    log = logging.getLogger("perezvon.test")
    log.warning("calling %s", "/webhooks/generic?phone=1&token=s3cret-one")
    log.warning("Bot API at https://api.telegram.org/bot%s/getMe failed", BOT_TOKEN)
    try:
        raise RuntimeError(f"GET /x?api_key=s3cret-two failed with bot{BOT_TOKEN}")
    except RuntimeError:
        log.exception("it broke")
    text = buffer.getvalue()

    for secret in ("s3cret-one", "s3cret-two", BOT_TOKEN, BOT_TOKEN.split(":")[1]):
        assert secret not in text
    assert "token=***" in text and "api_key=***" in text and "RuntimeError" in text
    if log_format == "json":
        records = lines(text)
        assert len(records) == 3 and "Traceback" in records[2]["exception"]
    else:
        assert text.startswith("20") and "WARNING perezvon.test: calling" in text


def test_json_lines_name_the_update_and_inbox_row_being_handled(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    buffer, handler = captured
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("perezvon.test")
    with log_context(update_id=501):
        log.info("handling")
        with log_context(inbox_row_id=7):
            log.info("applying")
    log.info("idle")

    handling, applying, idle = lines(buffer.getvalue())
    assert (handling["update_id"], "inbox_row_id" in handling) == (501, False)
    assert (applying["update_id"], applying["inbox_row_id"]) == (501, 7)
    assert "update_id" not in idle and idle["level"] == "INFO"


async def test_a_line_logged_while_serving_a_request_names_the_request(
    sessions: async_sessionmaker[AsyncSession], captured: tuple[io.StringIO, logging.Handler]
) -> None:
    buffer, handler = captured
    handler.setFormatter(JsonFormatter())
    routes = APIRouter()

    @routes.get("/talk")
    async def talk() -> dict[str, str]:
        logging.getLogger("perezvon.test").info("inside")
        return {}

    app = create_app(WebContext(sessions=sessions), extra_routers=[routes])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://crm") as http:
        await http.get("/talk", headers={"x-request-id": "proxy-id.42"})
        await http.get("/talk", headers={"x-request-id": 'bad id {"x": 1}'})
        await http.get("/talk")

    given, replaced, made = lines(buffer.getvalue())
    assert given["request_id"] == "proxy-id.42"
    assert len(replaced["request_id"]) == 16 and replaced["request_id"] != made["request_id"]


def test_python_warnings_become_log_lines(captured: tuple[io.StringIO, logging.Handler]) -> None:
    root = logging.getLogger()
    before = list(root.handlers), root.level
    root.handlers[:] = []  # as in a fresh process (pytest's own handlers are put back below)
    logging.captureWarnings(False)
    configure_logging("INFO", "json")
    assert [type(h).__name__ for h in root.handlers] == ["RootHandler"]
    buffer, handler = captured
    handler.setFormatter(JsonFormatter())
    logging.getLogger("py.warnings").addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("something is deprecated", DeprecationWarning, stacklevel=1)
    finally:
        logging.getLogger("py.warnings").removeHandler(handler)
        logging.captureWarnings(False)
        root.handlers[:], root.level = before[0], before[1]

    [line] = lines(buffer.getvalue())
    assert (line["logger"], line["level"]) == ("py.warnings", "WARNING")
    assert "something is deprecated" in line["message"]
