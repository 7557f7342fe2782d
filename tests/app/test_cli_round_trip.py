"""`perezvon export contacts` then `import contacts` of that file: nothing to change, then the
one edit, named."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.app.test_cli_excel import _seed


def test_export_then_import_unchanged_then_one_edit_is_listed(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(database)
    out = tmp_path / "contacts.csv"
    assert main(["export", "contacts", str(out)]) == 0
    capsys.readouterr()
    assert main(["import", "contacts", str(out), "--policy", "overwrite"]) == 0
    text = capsys.readouterr().out
    assert " 0 new, 0 updated, 0 duplicate, 0 rejected, " in text
    assert "would change" not in text
    lines = out.read_bytes().decode("utf-8-sig").splitlines()
    cells = lines[1].split(";")
    contact_id, cells[1] = cells[0], "Новое Имя"
    lines[1] = ";".join(cells)
    out.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))
    assert main(["import", "contacts", str(out), "--policy", "overwrite"]) == 0
    text = capsys.readouterr().out
    assert " 0 new, 1 updated, 0 duplicate, 0 rejected, " in text
    assert f"  row 2: contact #{contact_id} would change: name\n" in text
