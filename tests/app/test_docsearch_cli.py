"""`perezvon docs import` and `perezvon docs search` as a user runs them: the dry run, an
apply killed halfway and run again (one copy of each file), search by word form."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cli import main
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.documents.models import Document
from tests.fakes import documents as fx

REPO = Path(__file__).resolve().parents[2]


async def cli(argv: list[str]) -> int:
    """The command as a user runs it (its own event loop, in a thread)."""
    return await asyncio.to_thread(main, argv)


@pytest.fixture
def env(
    engine: AsyncEngine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    values = {
        "PEREZVON_DATABASE_URL": database_url,
        "PEREZVON_DOCUMENTS_DIR": str(tmp_path / "store"),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def archive(root: Path, files: int) -> Path:
    for i in range(files):
        folder = root / ("ООО Вектор" if i % 2 else "Сидоров Пётр +7 916 123-45-67")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"договор {i}.docx").write_bytes(fx.docx([f"Договор поставки № {i}"]))
    (root / "Прочее").mkdir()
    (root / "Прочее" / "заметка.txt").write_bytes("без клиента".encode())
    return root


async def test_dry_run_then_an_apply_killed_and_resumed(
    env: dict[str, str],
    ctx: Ctx,
    system: Actor,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await contacts.create_contact(ctx, actor=system, name="Иван", company_name="Вектор")
    await contacts.create_contact(ctx, actor=system, name="Другой", phones=["89161234567"])
    await ctx.session.commit()
    root = archive(tmp_path / "archive", 60)

    assert await cli(["docs", "import", str(root)]) == 0
    out = capsys.readouterr().out
    assert "ООО Вектор  →  Иван (Вектор)  (30 files)" in out
    assert "Сидоров Пётр +7 916 123-45-67  →  Другой  (30 files)" in out
    assert "no match:\n  Прочее  →  no match  (1 file)" in out
    assert "61 files: 60 matched, 0 ambiguous, 1 unmatched" in out
    assert await ctx.session.scalar(select(func.count(Document.id))) == 0
    await ctx.session.rollback()

    # A real kill halfway through (SIGKILL: no clean-up), then the same command again.
    command = [sys.executable, "-m", "app.cli", "docs", "import", str(root), "--apply"]
    child = await asyncio.create_subprocess_exec(
        *command,
        env={**os.environ, **env, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        while True:
            stored = await ctx.session.scalar(select(func.count(Document.id)))
            await ctx.session.rollback()
            if (stored and stored >= 5) or child.returncode is not None:
                break
            await asyncio.sleep(0.01)  # polling another process's progress
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL, "the import finished before it was killed"
    stored = await ctx.session.scalar(select(func.count(Document.id)))
    await ctx.session.rollback()
    assert stored is not None and 5 <= stored < 60
    assert await cli(["docs", "import", str(root), "--apply", "--unsorted"]) == 0
    out = capsys.readouterr().out
    assert "61 files:" in out and "1 to Unsorted, 0 left out" in out, out
    names = list(await ctx.session.scalars(select(Document.file_name)))
    assert len(names) == 61 and len(set(names)) == 61


async def test_search_prints_hits_and_json(
    env: dict[str, str], ctx: Ctx, system: Actor, capsys: pytest.CaptureFixture[str]
) -> None:
    vector = await contacts.create_contact(ctx, actor=system, name="ООО Вектор")
    await fx.add_document(ctx, fx.pdf(["Договор поставки № 17"]), "d.pdf", contact_id=vector.id)
    await ctx.session.close()
    assert await cli(["docs", "search", "договоры поставок"]) == 0
    out = capsys.readouterr().out
    assert "d.pdf" in out and "ООО Вектор" in out and "1 of 1" in out
    assert await cli(["docs", "search", "договоры поставок", "--json", "--kind", "docx"]) == 0
    assert '"total": 0' in capsys.readouterr().out
    assert await cli(["docs", "search", "аренда"]) == 0
    assert capsys.readouterr().out.strip() == "nothing found"
    assert await cli(["docs", "search", "x", "--limit", "0"]) != 0
    assert "limit" in capsys.readouterr().err


def test_doctor_says_whether_scans_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PEREZVON_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    monkeypatch.setattr("core.documents.extract_ocr.tesseract", lambda: None)
    assert main(["doctor"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("ocr"))
    assert "Tesseract not installed: scans and photos are kept, not searched" in line
    if shutil.which("tesseract") is not None:
        monkeypatch.undo()
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("PEREZVON_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
        assert main(["doctor"]) == 0
        line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("ocr"))
        assert line.startswith("ocr           tesseract ") and "(rus, eng)" in line
