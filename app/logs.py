"""Logging set-up: text or JSON lines (PEREZVON_LOG_FORMAT), secrets kept out of both.

The access log is off unless PEREZVON_ACCESS_LOG=true: a line per request through the
logging module cost a third of the webhook throughput (bench/README.md). Errors and start-up
lines are logged either way; when the access log is on, every line goes through `redact`.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import re
import sys
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


# A Telegram bot token (<digits>:<35 characters>), e.g. inside a Bot API URL in an error.
BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{30,}")


def redact(text: str) -> str:
    """The text with the values of secret query parameters masked, however the name is
    encoded, and any Telegram bot token."""
    if ":" in text:
        text = BOT_TOKEN.sub("***", text)
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


# --- LOG_FORMAT: text (the default) or one JSON object a line ---------------------------------
#
# In JSON every line has `time` (UTC, ISO 8601), `level`, `logger` and `message`, plus what
# `core.telemetry.log_context` names at the moment (`request_id`, `update_id`,
# `inbox_row_id`) and `exception` with the traceback when there is one. Under `perezvon run`
# the start-up banner and anything else written to stdout or stderr (a library's print, a
# Python warning) becomes such a line too (`JsonLinesStream`); every line is redacted.

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, secrets masked, the log context added."""

    def format(self, record: logging.LogRecord) -> str:
        from datetime import UTC, datetime

        from core.telemetry import LOG_CONTEXT

        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            line |= dict(zip(ACCESS_FIELDS, record.args, strict=False))
        line |= LOG_CONTEXT.get() or {}
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        elif record.stack_info:
            line["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The plain format, with the log context at the end of the line when there is one."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        from core.telemetry import LOG_CONTEXT

        text = super().format(record)
        context = LOG_CONTEXT.get()
        if context:
            text += " [" + " ".join(f"{k}={v}" for k, v in context.items()) + "]"
        return redact(text)  # the traceback too


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


class JsonLinesStream(io.TextIOBase):
    """A text stream (for sys.stdout / sys.stderr) that logs each line it is given as a record
    of `logger`; a line starting "warning:" or "error:" is logged at that level."""

    def __init__(self, logger: str, level: int, encoding: str = "utf-8") -> None:
        super().__init__()
        self._logger = logging.getLogger(logger)
        self._level = level
        self._pending = ""
        self._encoding = encoding
        self._emitting = False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            line, self._pending = self._pending, ""
            self._emit(line)

    def _emit(self, line: str) -> None:
        if not line.strip():
            return
        if self._emitting:  # logging itself complains on stderr: not through logging again
            sys.__stderr__.write(line + "\n") if sys.__stderr__ else None
            return
        level = self._level
        for prefix, named in (("warning: ", logging.WARNING), ("error: ", logging.ERROR)):
            if line.startswith(prefix):
                line, level = line[len(prefix) :], named
        self._emitting = True
        try:
            self._logger.log(level, "%s", line)
        finally:
            self._emitting = False


def _log_uncaught(kind: type[BaseException], value: BaseException, traceback: Any) -> None:
    logging.getLogger("perezvon").critical(
        "uncaught %s", kind.__name__, exc_info=(kind, value, traceback)
    )


class RootHandler(logging.StreamHandler[Any]):
    """The handler `configure_logging` puts on the root logger (replaced when called again)."""


def configure_logging(level: str, log_format: str, *, capture_streams: bool = False) -> None:
    """The root logger writes `log_format` lines (redacted) to stderr, or in JSON to the real
    stdout when `capture_streams` turns sys.stdout and sys.stderr into JSON lines too
    (`perezvon run`); Python warnings are logged. Like `logging.basicConfig`, nothing is
    changed when the root logger already has handlers of someone else's."""
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, RootHandler):
            root.removeHandler(old)
    if root.handlers:  # configured by someone else (a test runner): left alone, as basicConfig
        return
    if log_format == "json" and capture_streams:
        handler = RootHandler(sys.__stdout__)
        sys.stdout = JsonLinesStream("perezvon", logging.INFO)
        sys.stderr = JsonLinesStream("perezvon.stderr", logging.WARNING)
        sys.excepthook = _log_uncaught  # one line with the traceback, not one per line
    else:
        handler = RootHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RedactSecrets())
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)


def json_uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's loggers in JSON on the real stdout (the same stream as every other line)."""
    config = uvicorn_log_config()
    for name in ("default", "access"):
        config["formatters"][name] = {"()": "app.logs.JsonFormatter"}
        config["handlers"][name]["stream"] = "ext://sys.__stdout__"
    return config
