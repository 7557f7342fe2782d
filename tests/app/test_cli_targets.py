"""`perezvon targets set|list` (app/cli_targets.py): a table, JSON for scripts, one error line."""

from __future__ import annotations

import json

import pytest

from app import cli_targets
from tests.app.conftest import cli, threaded
from tests.conftest import Db

run = cli(cli_targets, "targets")
in_thread = threaded(run)


async def test_set_then_list_as_a_table_and_as_json(
    db: Db, cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    anna = await db.user(telegram_id=601, name="Анна")
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
    db: Db, cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    anna = await db.user(telegram_id=602, name="Анна")
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
