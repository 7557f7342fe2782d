"""`perezvon users set-role|enable|disable` (app/cli_users.py): one line each, the last-admin
rule from core, users named by Telegram id or Perezvon id."""

from __future__ import annotations

import pytest

from app import cli_users
from tests.app.conftest import cli, threaded
from tests.conftest import Db

run = cli(
    cli_users, prog="perezvon users", dest="users_command"
)  # as `perezvon …` parses and runs it
in_thread = threaded(run)


async def test_set_role_enable_and_disable_print_one_line_and_keep_the_last_admin(
    db: Db, cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = await db.user(telegram_id=501, role="admin", name="Анна")
    seller = await db.user(telegram_id=502, name="Олег")

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
    db: Db, cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await db.user(telegram_id=501, role="admin", name="Анна")
    assert await in_thread("enable", "--telegram-id", "999") == 1
    assert capsys.readouterr().err.strip() == "error: no user with Telegram id 999"
    assert await in_thread("set-role", "--telegram-id", "501", "--role", "boss") == 1
    assert capsys.readouterr().err.strip() == "error: role must be one of admin, manager, sales"
    with pytest.raises(SystemExit) as usage:
        run("set-role", "--role", "sales")
    assert usage.value.code == 2
