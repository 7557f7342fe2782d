"""The `perezvon` command line, called as a user would (argv in, output and exit code out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main


def run(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 0
) -> pytest.CaptureResult[str]:
    """`perezvon <argv>` exits with `code`: what it printed (out, err), nothing from before."""
    capsys.readouterr()
    assert main(argv) == code
    return capsys.readouterr()


def test_api_key_is_printed_once_alone_on_the_last_line(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = run(capsys, ["api-keys", "create", "--name", "shop"]).out.strip().splitlines()
    assert lines[-1].startswith("pzv_") and " " not in lines[-1]
    assert "shop" in lines[0]


def test_invite_prints_the_start_command_and_the_code(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(capsys, ["users", "invite", "--role", "sales"]).out.strip().splitlines()
    code = out[-1]
    assert any(line.endswith(f"/start {code}") for line in out)


def test_set_extension_for_an_unknown_telegram_user_is_one_clear_line(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["users", "set-extension", "--telegram-id", "42", "--extension", "101"]
    err = run(capsys, argv, 1).err.strip()
    assert err == "error: no user with Telegram id 42"


def test_a_bad_setting_stops_with_one_line_naming_it(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PEREZVON_VISIBILITY", "everyone")
    err = run(capsys, ["doctor"], 2).err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: PEREZVON_VISIBILITY")


def test_doctor_reports_the_schema_and_disabled_providers(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(capsys, ["doctor"]).out
    assert "(ok)" in out and "disabled (set PEREZVON_ZADARMA_SECRET)" in out


def test_doctor_fails_on_an_unmigrated_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PEREZVON_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    assert main(["doctor"]) == 1
    assert "perezvon db upgrade" in capsys.readouterr().out


def test_demo_seed_then_users_list(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "seed", "--contacts", "40", "--users", "3"]) == 0
    out = run(capsys, ["users", "list"]).out
    assert out.strip().splitlines()[-1] == "3 users"


def test_unknown_component_is_refused(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--components", "webhooks,fax"]) == 2
    assert "fax" in capsys.readouterr().err
