"""Run Alembic migrations programmatically (`perezvon db upgrade`, `perezvon run`)."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config


def alembic_config(url: str) -> Config:
    """Alembic's config for `url`; the URL travels as an attribute, not as an ini option,
    because the ini parser reads `%` as interpolation (a password like `S3cret%21`)."""
    config = Config()
    config.set_main_option("script_location", "core:migrations")
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> list[str]:
    """Bring the database at `url` up to `revision` (blocking; not from a running event loop);
    returns the revisions applied, oldest first (empty when it was up to date)."""
    config = alembic_config(url)
    applied: list[str] = []
    config.attributes["applied"] = applied
    command.upgrade(config, revision)
    return applied


def head() -> str:
    """The newest migration this version knows."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    return found or "none"


def upgrade_in_thread(url: str) -> None:
    """Safe from inside a running loop: migrations run their own loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        upgrade(url)
        return
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            upgrade(url)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
