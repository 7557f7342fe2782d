"""`perezvon report digest`, `import contacts` and `export contacts` as a user runs them."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.cli import main
from core.config import CoreConfig
from core.context import Ctx
from core.db import create_engine, session_factory
from tests.exports.files import HEADER_RU, ROWS_RU, csv_bytes
from tests.fakes.clock import FakeClock
from tests.reports import scenario

REPO = Path(__file__).resolve().parents[2]
DIGEST = ["report", "digest", "--from", "2026-11-23", "--to", "2026-11-23"]


def _seed(url: str) -> scenario.Scenario:
    async def seed() -> scenario.Scenario:
        engine = create_engine(url)
        async with session_factory(engine)() as session:
            ctx = Ctx(session=session, config=CoreConfig(), clock=FakeClock(scenario.NOW))
            built = await scenario.build(ctx)
        await engine.dispose()
        return built

    return asyncio.run(seed())


@pytest.fixture
def people(database: str, capsys: pytest.CaptureFixture[str]) -> scenario.Scenario:
    """The report scenario's people and clients in the CLI's database (what that printed, read)."""
    built = _seed(database)
    capsys.readouterr()
    return built


def test_report_digest_writes_the_workbook_and_prints_the_summary(
    people: scenario.Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "digest.xlsx"
    code = main([*DIGEST, "--out", str(out), "--as-user", str(people.maria.id), "--locale", "en"])
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Sales digest 2026-11-23: 6 calls (4 in, 2 out), 3 missed")
    assert printed[-1] == f"written: {out}"
    wb = load_workbook(out)
    assert wb.sheetnames[0] == "Summary"
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # not a temporary file's 0600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    out.chmod(0o600)  # kept to oneself: written again, it stays so
    assert main([*DIGEST, "--out", str(out), "--as-user", str(people.maria.id)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_report_digest_as_a_salesperson_is_refused_in_one_line(
    people: scenario.Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "digest.xlsx"
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


def test_import_contacts_dry_run_then_apply_with_rejected_rows_file(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(database)  # has Anna, whom the file names as an owner
    source = tmp_path / "clients.csv"
    source.write_bytes(csv_bytes(HEADER_RU, ROWS_RU, delimiter=";", encoding="cp1251"))
    capsys.readouterr()
    assert main(["import", "contacts", str(source)]) == 0
    out = capsys.readouterr().out
    assert "dry run (nothing written; --apply to import): 5 rows: 2 new, 0 updated, " in out
    assert "1 duplicate, 2 rejected" in out
    assert "  row 5: E5 (Дата рождения)" in out
    assert "  row 4: duplicate of row 2 (a phone or the ID repeats)" in out
    rejected = tmp_path / "rejected.xlsx"
    assert main(["import", "contacts", str(source), "--apply", "--rejected", str(rejected)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("applied: 5 rows: 2 new")
    assert [
        r[0] for r in load_workbook(rejected).active.iter_rows(min_row=2, values_only=True)
    ] == [4, 5, 6]  # row 4, a repeat of row 2's phone, is listed with the rejected ones
    assert main(["import", "contacts", str(source), "--apply"]) == 0
    assert "imported before with this policy; nothing changed" in capsys.readouterr().out


def test_import_of_a_refused_file_is_one_line(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "x.csv"
    source.write_text("Цвет;Размер\nred;XL\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["import", "contacts", str(source)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: no column for a phone or a name; the headers are: Цвет, Размер"
    assert main(["import", "contacts", str(tmp_path / "missing.csv")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_export_contacts_shows_a_salesperson_only_what_they_see(
    people: scenario.Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The people: Ivan is Anna's, Petr is Boris's, Olga is nobody's.
    everything, own = tmp_path / "all.xlsx", tmp_path / "anna.csv"
    assert main(["export", "contacts", str(everything)]) == 0
    names = [r[1] for r in load_workbook(everything).active.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["Ivan =Ivanov", "Olga", "Petr"]
    assert main(["export", "contacts", str(own), "--as-user", str(people.anna.id)]) == 0
    text = own.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0].startswith("ID;ФИО;Телефоны")
    assert "Ivan =Ivanov" in text and "Olga" in text and "Petr" not in text
    capsys.readouterr()
    assert main(["export", "contacts", str(tmp_path / "x.pdf")]) == 1
    assert "must end in .xlsx or .csv" in capsys.readouterr().err


def _contacts_file(path: Path, rows: int) -> None:
    lines = ["ФИО;Телефон;Компания;Комментарий"]
    for i in range(rows):
        phone = f"+7916{i:07d}" if i % 9 else f"+7916{max(i - 1, 0):07d}"  # some duplicates
        lines.append(f"Клиент {i};{phone if i % 50 != 7 else 'bad'};Компания {i % 13};note {i}")
    path.write_text("\n".join(lines), encoding="cp1251")


def _snapshot(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT c.name, p.e164, co.name, n.text, c.source FROM contacts c "
            "JOIN contact_phones p ON p.contact_id = c.id "
            "LEFT JOIN companies co ON co.id = c.company_id "
            "LEFT JOIN notes n ON n.contact_id = c.id ORDER BY c.name, p.e164"
        ).fetchall()


def test_import_killed_with_sigkill_and_rerun_equals_a_clean_run(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "clients.csv"
    _contacts_file(source, 1500)
    db = Path(database.removeprefix("sqlite+aiosqlite:///"))
    env = {**os.environ, "PEREZVON_DATABASE_URL": database, "PEREZVON_IMPORT_BATCH_SIZE": "5"}
    command = [sys.executable, "-m", "app.cli", "import", "contacts", str(source), "--apply"]
    process = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    done = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        with sqlite3.connect(db, timeout=10) as conn:
            row = conn.execute("SELECT batches_done FROM import_jobs").fetchone()
        done = row[0] if row else 0
        if done >= 10:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 10 <= done < 300, "the import must be killed halfway for this test to mean anything"
    with sqlite3.connect(db) as conn:
        contacts_at_kill = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
        batches = conn.execute("SELECT batches_done FROM import_jobs").fetchone()[0]
    assert 0 < contacts_at_kill < 1400
    assert batches < 300
    monkeypatch.setenv("PEREZVON_IMPORT_BATCH_SIZE", "5")
    assert main(["import", "contacts", str(source), "--apply"]) == 0
    resumed = _snapshot(db)

    clean_db = tmp_path / "clean.db"
    monkeypatch.setenv("PEREZVON_DATABASE_URL", f"sqlite+aiosqlite:///{clean_db}")
    assert main(["db", "upgrade"]) == 0
    assert main(["import", "contacts", str(source), "--apply"]) == 0
    assert resumed == _snapshot(clean_db)
    # 1500 rows - 30 bad - 159 repeating the row before (166 multiples of 9, less 3 that are
    # bad themselves and 4 whose row before was bad): one phone per contact.
    assert len(resumed) == 1311
