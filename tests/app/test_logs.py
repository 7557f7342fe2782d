"""Secrets in webhook URLs never reach the access log."""

from __future__ import annotations

import logging
import logging.config

import pytest

from app.logs import uvicorn_log_config


def test_access_lines_mask_tokens_in_the_query(capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(uvicorn_log_config())
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        "/webhooks/generic/lookup?phone=79161234567&token=s3cret-value",
        "1.1",
        200,
    )
    out = capsys.readouterr().out
    assert "s3cret-value" not in out
    assert "token=***" in out and "phone=79161234567" in out
