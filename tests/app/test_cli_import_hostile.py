"""`perezvon import contacts FILE` with hostile files, run as a user runs it (a child
process, so a reader that aborts the process fails the test instead of ending pytest)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.exports import hostile_files as hf

REPO = Path(__file__).resolve().parents[2]
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def perezvon(tmp_path: Path) -> Run:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PEREZVON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert run("db", "upgrade").returncode == 0
    return run


def test_one_value_in_xfd1048576_imports_the_one_real_row(perezvon: Run, tmp_path: Path) -> None:
    source = tmp_path / "clients.xlsx"
    source.write_bytes(hf.far_xfd())
    done = perezvon("import", "contacts", str(source))
    assert done.returncode == 0, (done.returncode, done.stderr[-500:])
    assert "1 rows: 1 new, 0 updated, 0 duplicate, 0 rejected" in done.stdout


def test_a_malformed_workbook_is_one_line_naming_the_fault(perezvon: Run, tmp_path: Path) -> None:
    source = tmp_path / "clients.xlsx"
    source.write_bytes(hf.rows_out_of_order())
    done = perezvon("import", "contacts", str(source))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: the workbook cannot be read: row 2 comes after row 5 in the sheet (rows out of"
        " order or repeated): open the file in Excel and save it again"
    ]


def test_rejected_file_writes_the_files_formula_header_as_text(
    perezvon: Run, tmp_path: Path
) -> None:
    evil = '"=HYPERLINK(""http://evil.example"",""x"")"'
    source = tmp_path / "clients.csv"
    source.write_text(
        f"ФИО;Телефон;Дата рождения;{evil}\nИван;+79161112233;31.02.1990;{evil}\n",
        encoding="utf-8",
    )
    rejected = tmp_path / "rejected.xlsx"
    done = perezvon("import", "contacts", str(source), "--rejected", str(rejected))
    assert done.returncode == 0, done.stderr[-500:]
    with zipfile.ZipFile(io.BytesIO(rejected.read_bytes())) as archive:
        xml = "".join(
            archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/")
        )
    assert xml.count("HYPERLINK") == 2  # the header cell and the row's cell, as text
    assert "<f>" not in xml
