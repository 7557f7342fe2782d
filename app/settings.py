"""Application settings: PEREZVON_* variables and .env (the [contract] of DESIGN §5)."""

from __future__ import annotations

import re
from ipaddress import ip_network
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.config import CoreConfig
from core.phones import try_normalize
from core.services.greetings import parse_holidays

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
    greetings_holidays: str = "01-01,02-23,03-08,05-01,05-09,06-12,11-04"
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
        parse_holidays(value)  # MM-DD or MM-DD=title, comma separated
        return value

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r} (use a two-letter code like RU)")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db")
        return value

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
            create_contacts_for_outbound=self.create_contacts_for_outbound,
            ringing_timeout_seconds=self.ringing_timeout_seconds,
            import_max_bytes=self.import_max_mb * 1024 * 1024,
            import_max_rows=self.import_max_rows,
            import_batch_size=self.import_batch_size,
            greeting_link_days=self.greeting_link_days,
        )

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
    """Bad configuration, already phrased as one line naming the setting."""


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and .env, or one clear line naming the bad setting."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
        settings.core_config()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "PEREZVON_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return settings
