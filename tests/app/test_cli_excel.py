"""`perezvon report digest`, `import contacts` and `export contacts` as a user runs them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.cli import main
from core.clock import FakeClock
from core.config import CoreConfig
from core.context import Ctx
from core.db import create_engine, session_factory
from tests.reports import scenario

DIGEST = ["report", "digest", "--from", "2026-11-23", "--to", "2026-11-23"]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    monkeypatch.setenv("PEREZVON_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    return url


def _seed(url: str) -> scenario.Scenario:
    async def seed() -> scenario.Scenario:
        engine = create_engine(url)
        async with session_factory(engine)() as session:
            ctx = Ctx(session=session, config=CoreConfig(), clock=FakeClock(scenario.NOW))
            built = await scenario.build(ctx)
        await engine.dispose()
        return built

    return asyncio.run(seed())


def test_report_digest_writes_the_workbook_and_prints_the_summary(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = _seed(database)
    out = tmp_path / "digest.xlsx"
    capsys.readouterr()
    code = main([*DIGEST, "--out", str(out), "--as-user", str(people.maria.id), "--locale", "en"])
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Sales digest 2026-11-23: 6 calls (4 in, 2 out), 3 missed")
    assert printed[-1] == f"written: {out}"
    wb = load_workbook(out)
    assert wb.sheetnames[0] == "Summary"


def test_report_digest_as_a_salesperson_is_refused_in_one_line(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = _seed(database)
    out = tmp_path / "digest.xlsx"
    capsys.readouterr()
    code = main([*DIGEST, "--out", str(out), "--as-user", str(people.anna.id)])
    assert code == 1
    assert capsys.readouterr().err.strip() == "error: the sales digest is for managers and admins"
    assert not out.exists()


def test_report_digest_with_a_bad_date_names_it(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = main(["report", "digest", "--from", "23.11", "--to", "2026-11-23", "--out", "x.xlsx"])
    assert code == 1
    assert "from: '23.11' is not a date" in capsys.readouterr().err
