"""Application settings: PEREZVON_* variables and .env (the [contract] of DESIGN §5).

1. `load_settings()` reads the environment and `.env` (the environment wins) into `Settings`;
   a value that cannot work stops with `SettingsError`: one line per bad setting, naming it,
   never repeating a secret (a token, a password inside a URL).
2. Values people copy in a form that cannot work are fixed where the intent is certain and
   refused otherwise: `postgresql://` and libpq's `?sslmode=` are translated for asyncpg
   (core/db.py); a bot token loses stray spaces around it (said by `setting_warnings`), and a
   `bot` prefix or any other shape than `<digits>:<secret>` is refused.
3. `setting_warnings()` names what is ignored silently otherwise: a `PEREZVON_*` variable
   (environment or `.env`) that is no setting, with "did you mean", and a setting's name
   written without the prefix in `.env`. `NOT_SETTINGS` lists the `PEREZVON_*` names the tests
   and benchmarks read, which are no settings of the server.

Heavy modules (SQLAlchemy, phone metadata) load only when a value that needs them is set.
"""

from __future__ import annotations

import difflib
import os
import re
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.config import CoreConfig

PREFIX = "PEREZVON_"
DEFAULT_HOLIDAYS = "01-01,02-23,03-08,05-01,05-09,06-12,11-04"
ENV_FILE = ".env"
# PEREZVON_* variables that are not settings of the server: read by the tests, the fuzzers
# and the benchmarks (README, Development). Never reported as unknown.
NOT_SETTINGS = frozenset(
    {
        "PEREZVON_TEST_DATABASE_URL",
        "PEREZVON_TEST_REDIS_URL",
        "PEREZVON_FUZZ_RANDOM",
        "PEREZVON_FUZZ_EXAMPLES",
        "PEREZVON_FUZZ_REPORT",
        "PEREZVON_BENCH_PG_DSN",
    }
)

# Settings that hold comma lists of addresses or networks (the webhook allow-lists).
NETWORK_SETTINGS = (
    "zadarma_allowed_ips",
    "novofon_allowed_ips",
    "mango_allowed_ips",
    "itoolabs_allowed_ips",
    "twilio_allowed_ips",
    "generic_allowed_ips",
    "threecx_allowed_ips",
    "trusted_proxies",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PEREZVON_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///./perezvon.db"
    redis_url: str | None = None
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_secret: SecretStr | None = None
    public_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    default_region: str = "RU"
    timezone: str = "Europe/Moscow"
    locale: Literal["ru", "en"] = "ru"
    visibility: Literal["own", "all"] = "own"
    own_numbers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    callback_sla_minutes: int = Field(default=15, ge=1, le=24 * 60)
    create_contacts_for_outbound: bool = False
    ringing_timeout_seconds: int = Field(default=600, ge=30)
    process_inbox: bool = True
    zadarma_secret: SecretStr | None = None
    zadarma_timezone: str | None = None
    zadarma_redirect: bool = False
    novofon_secret: SecretStr | None = None
    mango_api_key: SecretStr | None = None
    mango_api_salt: SecretStr | None = None
    itoolabs_token: SecretStr | None = None
    twilio_auth_token: SecretStr | None = None
    generic_token: SecretStr | None = None
    threecx_token: SecretStr | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # HTTP edge: one line per request costs ~35% of webhook throughput, so it is opt-in.
    access_log: bool = False
    # Scheduler (issue 11): reminders, greetings, digests, housekeeping.
    reminders_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    reminders_late_after_seconds: int = Field(default=120, ge=0)
    on_duty_manager_id: int | None = None  # told about overdue callbacks; else all managers
    greetings_interval_seconds: float = Field(default=60.0, gt=0, le=3600)
    greetings_local_hour: int = Field(default=10, ge=0, le=23)
    greetings_holidays: str = DEFAULT_HOLIDAYS
    digests_interval_seconds: float = Field(default=60.0, gt=0, le=3600)
    digests_max_attempts: int = Field(default=5, ge=1, le=50)
    housekeeping_interval_seconds: float = Field(default=600.0, gt=0, le=86400)
    inbox_retention_days: int = Field(default=30, ge=1)
    outbox_retry_failed_minutes: int = Field(default=60, ge=1)
    invite_grace_days: int = Field(default=7, ge=0)
    # --- hardening: failed inbox rows, webhook source addresses, shutdown -----------------
    inbox_max_attempts: int = Field(default=5, ge=1, le=100)
    # Source addresses (IPs or networks, comma list) each provider may call from; empty: any.
    zadarma_allowed_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    novofon_allowed_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    mango_allowed_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    itoolabs_allowed_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    twilio_allowed_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    generic_allowed_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    threecx_allowed_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Behind a reverse proxy: the header carrying the client address (X-Forwarded-For,
    # X-Real-IP), believed only from these peers.
    trusted_proxy_header: str | None = None
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"]
    )
    shutdown_timeout_seconds: int = Field(default=10, ge=1, le=600)
    # Excel: contact imports (issue 10)
    import_max_mb: int = Field(default=20, ge=1, le=500)
    import_max_rows: int = Field(default=200_000, ge=1)
    import_batch_size: int = Field(default=500, ge=1, le=10_000)
    # Telegram bot runtime: outbox send rate (messages a second, all chats together).
    telegram_rate: float = Field(default=25.0, gt=0, le=1000)
    # Client opt-in links expire this many days after they are issued (reissuing rotates).
    greeting_link_days: int = Field(default=30, ge=1, le=3650)
    # Edit the screen pop in place as the call is answered and ends (see core.config).
    live_call_messages: bool = True
    # Documents on cards (issue 18): `dir` keeps files under DOCUMENTS_DIR (default: a
    # `documents` directory beside the SQLite file, else ./documents); `db` keeps them in the
    # database (chunks), so every instance sharing PostgreSQL serves every file.
    documents_dir: str | None = None
    documents_storage: Literal["dir", "db"] = "dir"
    # The largest file accepted. The cloud Bot API lets bots download 20 MB at most; a
    # self-hosted Bot API server (PEREZVON_TELEGRAM_API_URL) lifts that to 2,000 MB.
    documents_max_mb: int = Field(default=20, ge=1, le=2000)
    # Operations (issue 20): /metrics for others than loopback and TRUSTED_PROXIES, and the
    # shape of every line the process logs.
    metrics_token: SecretStr | None = None
    log_format: Literal["text", "json"] = "text"
    # Client chats in the company bot (issue 17).
    chat_sla_minutes: int = Field(default=15, ge=1, le=24 * 60)
    working_hours: str = ""  # e.g. "mon-fri 09:00-18:00; sat 10:00-14:00" in TIMEZONE
    client_routing: Literal["on-duty", "round-robin"] = "on-duty"
    client_rate_per_minute: int = Field(default=20, ge=1, le=600)

    @field_validator("working_hours")
    @classmethod
    def _working_hours(cls, value: str) -> str:
        from core.conversations import hours

        hours.parse(value)  # a ValueError names the segment
        return value.strip()

    @field_validator("telegram_token", mode="before")
    @classmethod
    def _token_shape(cls, value: object) -> object:
        # aiogram refuses anything but <digits>:<secret> with a traceback when the bot starts;
        # said here instead, naming the mistake, never the token.
        if value is None:
            return None
        text = (value.get_secret_value() if isinstance(value, SecretStr) else str(value)).strip()
        if not text:
            return None  # empty: not set (the bot is skipped, saying which setting to set)
        if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
            raise ValueError("remove the quotes around the token")
        if text[:3].lower() == "bot" and text[3:4].isdigit():
            raise ValueError(
                "remove the 'bot' in front: the token is <digits>:<secret> as @BotFather "
                "gives it ('bot' belongs only in Bot API URLs)"
            )
        number, colon, secret = text.partition(":")
        if any(c.isspace() for c in text) or not colon or not number.isdigit() or not secret:
            raise ValueError(
                "not a bot token: @BotFather gives <digits>:<secret>, e.g. 123456789:AAH…"
            )
        return text

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret_alphabet(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("use 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)")
        return value

    @field_validator("own_numbers", *NETWORK_SETTINGS, mode="before")
    @classmethod
    def _split_numbers(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("timezone", "zadarma_timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("greetings_holidays")
    @classmethod
    def _holidays(cls, value: str) -> str:
        if value == DEFAULT_HOLIDAYS:  # pydantic-settings checks defaults too; this one is good
            return value
        from core.greetings.service import parse_holidays

        parse_holidays(value)  # MM-DD or MM-DD=title, comma separated
        return value

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        import phonenumbers

        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r} (use a two-letter code like RU)")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        from core.db import normalize_database_url

        return normalize_database_url(value)  # DatabaseUrlError is a ValueError: one line

    @field_validator(*NETWORK_SETTINGS)
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IP address or network") from exc
        return value

    def allowed_sources(self) -> dict[str, tuple[str, ...]]:
        """Per provider, the source networks it may call from (only providers that set them)."""
        lists = {
            "zadarma": self.zadarma_allowed_ips,
            "novofon": self.novofon_allowed_ips,
            "mango": self.mango_allowed_ips,
            "itoolabs": self.itoolabs_allowed_ips,
            "twilio": self.twilio_allowed_ips,
            "generic": self.generic_allowed_ips,
            "3cx": self.threecx_allowed_ips,
        }
        return {name: tuple(items) for name, items in lists.items() if items}

    def core_config(self) -> CoreConfig:
        from bot.i18n import texts
        from core.phones import try_normalize

        own: set[str] = set()
        for raw in self.own_numbers:
            phone = try_normalize(raw, region=self.default_region)
            if phone is None or phone.e164 is None:
                raise ValueError(f"PEREZVON_OWN_NUMBERS: {raw!r} is not a phone number")
            own.add(phone.e164)
        return CoreConfig(
            default_region=self.default_region,
            timezone=self.timezone,
            locale=self.locale,
            visibility=self.visibility,
            own_numbers=frozenset(own),
            callback_sla_minutes=self.callback_sla_minutes,
            callback_title=texts(self.locale)("callback-task-title", name="{name}"),
            live_call_messages=self.live_call_messages,
            create_contacts_for_outbound=self.create_contacts_for_outbound,
            ringing_timeout_seconds=self.ringing_timeout_seconds,
            import_max_bytes=self.import_max_mb * 1024 * 1024,
            import_max_rows=self.import_max_rows,
            import_batch_size=self.import_batch_size,
            greeting_link_days=self.greeting_link_days,
            documents_dir=self.resolved_documents_dir(),
            documents_storage=self.documents_storage,
            documents_max_bytes=self.documents_max_mb * 1024 * 1024,
            chat_sla_minutes=self.chat_sla_minutes,
            working_hours=self.working_hours,
            client_routing=self.client_routing,
            client_rate_per_minute=self.client_rate_per_minute,
            reply_title=texts(self.locale)("reply-task-title", name="{name}"),
        )

    def resolved_documents_dir(self) -> str:
        """DOCUMENTS_DIR, or `documents` beside the SQLite file, or ./documents."""
        if self.documents_dir:
            return self.documents_dir
        from core.db import sqlite_file

        database = sqlite_file(self.database_url)
        if database is not None:
            return str(Path(database).parent / "documents")
        return "documents"

    def provider_secrets(self) -> dict[str, str]:
        """Configured provider secrets by setting name (only the ones that are set)."""
        names = {
            "ZADARMA_SECRET": self.zadarma_secret,
            "NOVOFON_SECRET": self.novofon_secret,
            "MANGO_API_KEY": self.mango_api_key,
            "MANGO_API_SALT": self.mango_api_salt,
            "ITOOLABS_TOKEN": self.itoolabs_token,
            "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "GENERIC_TOKEN": self.generic_token,
            "THREECX_TOKEN": self.threecx_token,
        }
        return {k: v.get_secret_value() for k, v in names.items() if v and v.get_secret_value()}


class SettingsError(Exception):
    """Bad configuration, already phrased as one line naming the setting (`problems`: one such
    line per bad setting; the message is the first)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0])
        self.problems = problems
        self.said = False  # set once every problem has been printed


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and .env, or one clear line naming the bad setting."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
        settings.core_config()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = PREFIX + str(error["loc"][0]).upper() if error["loc"] else "settings"
            problems.append(f"{name}: {str(error['msg']).removeprefix('Value error, ')}")
        raise SettingsError(problems) from None
    except ValueError as exc:
        raise SettingsError([str(exc)]) from None
    return settings


def setting_names() -> tuple[str, ...]:
    """Every setting's full name, `PEREZVON_DATABASE_URL` …, in declaration order."""
    return tuple(PREFIX + name.upper() for name in Settings.model_fields)


def _env_file_values(path: Path) -> dict[str, str | None]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # pydantic-settings reads .env with the same parser

    try:
        return dict(dotenv_values(path, encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}


def setting_warnings(
    environ: dict[str, str] | None = None, env_file: str | Path = ENV_FILE
) -> list[str]:
    """One line per variable that looks meant for Perezvon but is ignored (a misspelt or
    unknown `PEREZVON_*` name, a setting without its prefix in `.env`), and per value that
    was tidied (spaces around the bot token). Never a value."""
    environment = dict(os.environ if environ is None else environ)
    from_file = _env_file_values(Path(env_file))
    known = {name.upper() for name in Settings.model_fields}
    lines: list[str] = []
    sources: list[tuple[str, dict[str, Any]]] = [
        ("the environment", environment),
        (str(env_file), from_file),
    ]
    for where, variables in sources:
        for name in sorted(variables):
            upper = name.upper()
            if upper.startswith(PREFIX):
                if upper[len(PREFIX) :] in known or upper in NOT_SETTINGS:
                    continue
                close = difflib.get_close_matches(upper[len(PREFIX) :], known, n=1, cutoff=0.75)
                hint = f"; did you mean {PREFIX}{close[0]}?" if close else ""
                lines.append(f"{name} (in {where}) is not a setting and is ignored{hint}")
            elif variables is from_file and upper in known:
                lines.append(
                    f"{name} (in {where}) is ignored: settings take the prefix, "
                    f"write {PREFIX}{upper}"
                )
    token = _raw_value(f"{PREFIX}TELEGRAM_TOKEN", environment, from_file)
    if token and token.strip() and token != token.strip():
        lines.append(f"{PREFIX}TELEGRAM_TOKEN has spaces around it; they were removed")
    return lines


def _raw_value(name: str, *sources: dict[str, Any]) -> str | None:
    for variables in sources:  # the environment first, as pydantic-settings reads them
        for key, value in variables.items():
            if key.upper() == name and value is not None:
                return str(value)
    return None
