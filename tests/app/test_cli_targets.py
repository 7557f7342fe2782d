"""`perezvon targets set|list` (app/cli_targets.py): a table, JSON for scripts, one error line."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import cli_targets
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
    """Parse as `perezvon …` would (the parser cli_targets adds) and run it."""
    parser = argparse.ArgumentParser(prog="perezvon")
    cli_targets.add_parsers(parser.add_subparsers(dest="command", required=True))
    return cli_targets.dispatch(parser.parse_args(["targets", *argv]), load_settings())


async def in_thread(*argv: str) -> int:
    return await asyncio.get_running_loop().run_in_executor(None, run, *argv)


async def test_set_then_list_as_a_table_and_as_json(
    cli_db: str,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    anna = await make_user(sessions, config, clock, telegram_id=601, name="Анна")
    uid = str(anna.id)
    assert await in_thread("set", "--user-id", uid, "--month", "2026-12", "--won-amount",
                           "500 000", "--calls-out", "300") == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["user", "name", "metric", "target"]
    assert [line.split()[1:] for line in lines[1:]] == [
        ["Анна", "won_amount", "500000.00"],
        ["Анна", "calls_out", "300"],
    ]
    assert await in_thread("set", "--user-id", uid, "--month", "12.2026", "--calls-out", "0") == 0
    capsys.readouterr()
    assert await in_thread("list", "--month", "2026-12", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == {
        "items": [
            {
                "user_id": anna.id,
                "name": "Анна",
                "month": "2026-12",
                "metric": "won_amount",
                "target": "500000.00",
            }
        ],
        "month": "2026-12",
    }
    assert await in_thread("list", "--month", "2027-01") == 0
    assert capsys.readouterr().out.strip() == "no targets for 2027-01"


async def test_bad_input_is_one_error_line(
    cli_db: str,
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    anna = await make_user(sessions, config, clock, telegram_id=602, name="Анна")
    uid = str(anna.id)
    cases = [
        (("set", "--user-id", uid, "--month", "2026-13", "--calls-out", "5"), 1, "not a month"),
        (("set", "--user-id", uid, "--month", "2026-12", "--deals-won", "2.5"), 1, "'2.5'"),
        (("set", "--user-id", "999999", "--month", "2026-12", "--calls-out", "5"), 1, "999999"),
        (("set", "--user-id", uid, "--month", "2026-12"), 2, "--won-amount"),
    ]
    for argv, code, said in cases:
        assert await in_thread(*argv) == code, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and said in err and "\n" not in err, err
