"""Admin commands (api-keys list/revoke, inbox failed/retry) and database trouble in one line."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import main
from core import migrate
from core.models import TelephonyEvent
from tests.conftest import PG_URL

PASSWORD = "S3cretPW!"


@pytest.fixture(autouse=True)
def _in_an_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command runs where there is no .env (the repository's would be read)."""
    monkeypatch.chdir(tmp_path)


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def _fails_in_one_line(
    command: str,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[str, str]:
    """`perezvon <command>` on the database at `url` exits 1 saying one line on stderr: that
    line, and all the command printed."""
    monkeypatch.setenv("PEREZVON_DATABASE_URL", url)
    assert main(command.split()) == 1
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    return line, captured.out + captured.err


def test_api_keys_are_listed_with_scope_and_last_use_and_can_be_revoked(
    cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["api-keys", "create", "--name", "shop"]) == 0
    shop_key = _last_line(capsys)
    assert main(["api-keys", "create", "--name", "bi", "--role", "read"]) == 0
    capsys.readouterr()
    assert main(["api-keys", "list", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [(k["name"], k["role"], k["revoked_at"]) for k in listed] == [
        ("shop", "integration", None),
        ("bi", "read", None),
    ]
    assert all(shop_key not in json.dumps(k) for k in listed)
    assert shop_key.startswith(listed[0]["prefix"])
    assert main(["api-keys", "revoke", str(listed[0]["id"])]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["api-keys", "list"]) == 0
    table = capsys.readouterr().out
    assert "revoked" in table and "2 key(s)" in table
    assert main(["api-keys", "revoke", "999"]) == 1
    assert capsys.readouterr().err.strip() == "error: no API key 999"


async def cli(*argv: str) -> int:
    """The CLI in a worker thread: it runs its own event loop, as from a terminal."""
    return await asyncio.get_running_loop().run_in_executor(None, main, list(argv))


async def test_inbox_failed_lists_parked_rows_and_retry_queues_them_again(
    cli_db: str, sessions: async_sessionmaker[AsyncSession], capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime(2026, 11, 26, 9, tzinfo=UTC)
    async with sessions() as session:
        for number, error in ((1, "parked after 5 attempts: OverflowError: boom"), (2, None)):
            session.add(
                TelephonyEvent(
                    provider="generic",
                    dedupe_key=f"generic:c-{number}:end:",
                    call_key=f"c-{number}",
                    event_type="end",
                    body=b"{}",
                    headers={},
                    received_at=now,
                    processed_at=now,
                    attempts=5,
                    error=error,
                )
            )
        await session.commit()
    assert await cli("inbox", "failed") == 0
    out = capsys.readouterr().out
    assert "OverflowError: boom" in out and "1 failed event(s)" in out
    assert await cli("inbox", "retry", "2") == 1
    assert "no failed inbox row 2" in capsys.readouterr().err
    assert await cli("inbox", "retry", "--all") == 0
    assert capsys.readouterr().out.startswith("1 event(s) queued again")
    async with sessions() as session:
        row = await session.get(TelephonyEvent, 1)
        assert row is not None and row.processed_at is None and row.attempts == 0
    assert await cli("inbox", "failed") == 0
    assert "0 failed event(s)" in capsys.readouterr().out


def _pg_url_with(
    password: str | None = None, *, port: int | None = None, db: str | None = None
) -> str:
    from sqlalchemy.engine import make_url

    assert PG_URL is not None
    url = make_url(PG_URL)
    url = url.set(password=password) if password else url
    url = url.set(port=port) if port else url
    url = url.set(database=db) if db else url
    return url.render_as_string(hide_password=False)


def test_a_percent_in_the_database_url_works_for_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if PG_URL:
        url = _pg_url_with(PASSWORD)  # trust auth ignores it; the URL carries S3cretPW%21
        assert "%21" in url
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'a%20b.db'}"
    monkeypatch.setenv("PEREZVON_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    captured = capsys.readouterr()
    head = migrate.head()
    said = rf"database (upgraded to schema {head} \(\d+ migrations? applied\)|is up to date)"
    assert re.search(said, captured.out)
    assert main(["db", "upgrade"]) == 0
    assert f"database is up to date (schema {head})" in capsys.readouterr().out
    assert PASSWORD not in captured.out + captured.err and "%21" not in captured.out


BROKEN = ["db upgrade", "users list", "api-keys create --name shop", "run"]


@pytest.mark.parametrize("command", BROKEN)
def test_an_unreachable_database_is_one_line_without_the_password(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql+asyncpg://perezvon:S3cretPW%21@127.0.0.1:1/crm"
    line, printed = _fails_in_one_line(command, url, monkeypatch, capsys)
    assert line.startswith("error: cannot reach the database at postgresql+asyncpg://perezvon:***@")
    assert "S3cretPW" not in printed


@pytest.mark.parametrize("command", ["users list", "api-keys create --name shop"])
def test_a_database_never_migrated_says_to_run_db_upgrade(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if PG_URL:
        url = _pg_url_with(db="perezvon_hardening_never_created")
        expected = "does not exist: create it, then run `perezvon db upgrade`"
    else:
        (tmp_path / "new.db").touch()  # there but empty (no file at all: test_cli_newcomer.py)
        url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
        expected = "is not set up: run `perezvon db upgrade`"
    line, _printed = _fails_in_one_line(command, url, monkeypatch, capsys)
    assert line.startswith("error: the database at ") and line.endswith(expected)


def test_a_sqlite_file_in_a_missing_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/no/such/x.db"
    line, _printed = _fails_in_one_line("db upgrade", url, monkeypatch, capsys)
    assert "cannot open the SQLite file" in line and "folder does not exist" in line
