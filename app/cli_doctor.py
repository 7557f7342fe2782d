"""`perezvon doctor`: what is configured, what is missing, what `run` would start.

It reads the settings and asks the database for its schema version, and nothing more: no
FastAPI, no services, no aiogram (it answers in well under a second), and it creates nothing
(a missing SQLite file is reported, not made empty).
"""

from __future__ import annotations

from collections.abc import Mapping

from app.settings import Settings
from core.db import display_url, is_sqlite


def _safe_url(url: str) -> str:
    return display_url(url)


async def doctor(settings: Settings) -> int:
    """Print what is configured and what is missing; exit 1 if the database is unreachable,
    missing or not migrated. Creates nothing (not even an empty SQLite file)."""
    from app.cli_admin import missing_database_problem
    from app.settings import setting_warnings

    problems = 0
    print(f"database      {_safe_url(settings.database_url)}")
    missing = missing_database_problem(settings.database_url)
    if missing:
        print(f"  schema      NOT FOUND: {missing}")
        problems += 1
    else:
        problems += await _doctor_schema(settings.database_url)
    if is_sqlite(settings.database_url):
        print("  note        SQLite: fine for one process; use PostgreSQL for several instances")
    warnings = setting_warnings()
    print(f"settings      {'ok' if not warnings else warnings[0]}")
    for line in warnings[1:]:
        print(f"              {line}")
    print(
        f"region/zone   {settings.default_region} / {settings.timezone}, locale {settings.locale}"
    )
    print(f"visibility    {settings.visibility}; callback SLA {settings.callback_sla_minutes} min")
    print(f"own numbers   {', '.join(sorted(settings.core_config().own_numbers)) or 'none set'}")
    # A token that is set has the shape Telegram gives (settings refuse any other).
    token = "set" if settings.telegram_token else "PEREZVON_TELEGRAM_TOKEN not set"
    print(f"telegram      token {token} ({settings.telegram_mode}, {settings.telegram_api_url})")
    public = settings.public_url or "PEREZVON_PUBLIC_URL not set (needed for Twilio, bot webhook)"
    print(f"public url    {public}")
    for line in _provider_lines(settings.provider_secrets()):
        print(line)
    print(_documents_line(settings))
    print(_ocr_line())
    redis = _safe_url(settings.redis_url) if settings.redis_url else "PEREZVON_REDIS_URL not set"
    print(f"redis         {redis}")
    for line in _component_lines(settings):
        print(line)
    return 1 if problems else 0


async def _doctor_schema(url: str) -> int:
    """Print the schema version line; 1 if the database is not ready."""
    from sqlalchemy import text

    from app.cli_admin import database_problem
    from core.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        print(f"  schema      {version} (ok)")
        return 0
    except Exception as exc:  # doctor reports every failure instead of raising
        hint = database_problem(exc, url) or f"{type(exc).__name__}: {str(exc)[:200]}"
        if "alembic_version" in str(exc):
            hint = f"{type(exc).__name__}: run `perezvon db upgrade`"
        print(f"  schema      NOT READY: {hint}")
        return 1
    finally:
        await engine.dispose()


def _documents_line(settings: Settings) -> str:
    """Where document files go and the largest accepted (the Bot API's own limit too)."""
    if settings.documents_storage == "db":
        where = "in the database (document_chunks; every instance serves every file)"
    else:
        where = f"directory {settings.resolved_documents_dir()}"
        if not is_sqlite(settings.database_url):
            where += " (several instances: share it, or set PEREZVON_DOCUMENTS_STORAGE=db)"
    cloud = "api.telegram.org" in settings.telegram_api_url
    bot_limit = "the cloud Bot API downloads 20 MB at most" if cloud else "self-hosted Bot API"
    return f"documents     {where}; up to {settings.documents_max_mb} MB a file ({bot_limit})"


def _ocr_line() -> str:
    """Whether scans and photos are read (Tesseract with Russian and English) or only kept."""
    from core.documents.extract_ocr import status

    version, languages = status()
    if version is None:
        return (
            "ocr           Tesseract not installed: scans and photos are kept, not searched "
            "(apt-get install tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng)"
        )
    missing = [lang for lang in ("rus", "eng") if lang not in languages]
    if missing:
        return f"ocr           {version}; language data missing: {', '.join(missing)}"
    return f"ocr           {version} (rus, eng): scans and photos are searched"


def _provider_lines(secrets: Mapping[str, str]) -> list[str]:
    from telephony_webhooks.providers.registry import PROVIDERS

    lines = []
    for name, provider in PROVIDERS.items():
        if not provider.enabled(secrets):
            state = f"disabled (set {provider.setting_names()})"
        else:
            group = next(g for g in provider.secret_groups if all(secrets.get(n) for n in g))
            state = f"enabled (by {' + '.join('PEREZVON_' + n for n in group)})"
        lines.append(f"pbx {name:10}{state}")
    return lines


def _component_lines(settings: Settings) -> list[str]:
    """What `perezvon run` (no --components) will start, and what it will skip and why."""
    from app.components import select

    chosen, skipped = select(settings, None)
    lines = [f"run starts    {', '.join(c.name for c in chosen) or 'the HTTP app only'}"]
    lines += [f"run skips     {name} ({reason})" for name, reason in skipped]
    return lines
