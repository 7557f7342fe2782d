"""Logging set-up for the server: uvicorn's config, with secrets kept out of access lines.

The access log is off unless PEREZVON_ACCESS_LOG=true: a line per request through the
logging module cost a third of the webhook throughput (bench/README.md). Errors and start-up
lines are logged either way; when the access log is on, every line goes through `redact`.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import unquote_plus

# Query parameters whose values are masked: the shared secrets our webhooks take (`token`,
# the 3CX template's `crm_token`), and the names people and tools put credentials under by
# habit (`access_token=pzv_…` for an API key, `password`, `secret`, `signature`…), because
# an access log is read by more people than the secrets are meant for.
SECRET_NAMES = frozenset(
    {"token", "key", "secret", "password", "passwd", "pwd", "auth", "authorization"}
    | {"apikey", "accesstoken", "signature", "sig", "sessionid", "jwt"}
)
# …and any name whose last word is one of these (access_token, api_key, client_secret,
# X-Api-Key, accessToken), but not a word that merely ends so (`monkey`).
SECRET_LAST_WORDS = frozenset({"token", "key", "secret", "password", "passwd", "signature"})
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORDS = re.compile(r"[^a-z0-9]+")
# Any `?name=value` or `&name=value`: the name is compared after percent-decoding, because
# a server decodes `%74oken` to `token` and so must the redaction.
QUERY_PARAM = re.compile(r"([?&;])([^=&\s?]*)=([^&\s]*)")


def _masked(match: re.Match[str]) -> str:
    name = match.group(2)
    decoded = name
    for _ in range(3):  # %2574oken decodes to %74oken, then to token
        if "%" not in decoded and "+" not in decoded:
            break
        decoded = unquote_plus(decoded)
    if is_secret_name(decoded):
        return f"{match.group(1)}{name}=***"
    return match.group(0)


def is_secret_name(name: str) -> bool:
    """Whether a query parameter of this (decoded) name has its value masked in logs."""
    lowered = name.strip().lower()
    words = [w for w in _WORDS.split(_CAMEL.sub(r"\1_\2", name.strip()).lower()) if w]
    return lowered in SECRET_NAMES or bool(words and words[-1] in SECRET_LAST_WORDS)


def redact(text: str) -> str:
    """The text with the values of secret query parameters masked, however the name is encoded."""
    if "=" not in text:
        return text
    return QUERY_PARAM.sub(_masked, text)


class RedactSecrets(logging.Filter):
    """Masks secret query parameters in uvicorn's access records (and any message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging config with the redacting filter on every handler."""
    import uvicorn.config

    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": "app.logs.RedactSecrets"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_secrets")
    return config
