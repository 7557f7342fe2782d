"""`perezvon users set-role|enable|disable` (app/cli_users.py): one line each, the last-admin
rule from core, users named by Telegram id or Perezvon id."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import cli_users
from app.settings import load_settings
from core.clock import FakeClock
from core.config import CoreConfig
from tests.bot.updates import make_user


@pytest.fixture
def cli_db(
    database_url: str, engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    monkeypatch.setenv("PEREZVON_DATABASE_URL", database_url)
    return database_url


def run(*argv: str) -> int:
    """Parse as `perezvon users …` would (the parsers cli_users adds) and run it."""
    parser = argparse.ArgumentParser(prog="perezvon users")
    cli_users.add_parsers(parser.add_subparsers(dest="users_command", required=True))
    return cli_users.dispatch(parser.parse_args(list(argv)), load_settings())


async def in_thread(*argv: str) -> int:
    return await asyncio.get_running_loop().run_in_executor(None, run, *argv)


async def test_set_role_enable_and_disable_print_one_line_and_keep_the_last_admin(
    cli_db: str,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = await make_user(sessions, config, clock, telegram_id=501, role="admin", name="Анна")
    seller = await make_user(sessions, config, clock, telegram_id=502, name="Олег")

    assert await in_thread("set-role", "--telegram-id", "501", "--role", "sales") == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: Анна is the last active admin"
    assert await in_thread("disable", "--user-id", str(admin.id)) == 1
    assert "last active admin" in capsys.readouterr().err

    assert await in_thread("set-role", "--telegram-id", "502", "--role", "админ") == 0
    assert capsys.readouterr().out.strip() == (
        f"user {seller.id} (Олег, Telegram 502): admin, active"
    )
    assert await in_thread("set-role", "--user-id", str(admin.id), "--role", "manager") == 0
    assert capsys.readouterr().out.strip().endswith(": manager, active")
    assert await in_thread("disable", "--telegram-id", "501") == 0
    assert capsys.readouterr().out.strip().endswith(": manager, disabled")
    assert await in_thread("enable", "--telegram-id", "501") == 0
    assert capsys.readouterr().out.strip().endswith(": manager, active")


async def test_unknown_people_and_roles_are_named_in_one_line(
    cli_db: str,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await make_user(sessions, config, clock, telegram_id=501, role="admin", name="Анна")
    assert await in_thread("enable", "--telegram-id", "999") == 1
    assert capsys.readouterr().err.strip() == "error: no user with Telegram id 999"
    assert await in_thread("set-role", "--telegram-id", "501", "--role", "boss") == 1
    assert capsys.readouterr().err.strip() == "error: role must be one of admin, manager, sales"
    with pytest.raises(SystemExit) as usage:
        run("set-role", "--role", "sales")
    assert usage.value.code == 2
