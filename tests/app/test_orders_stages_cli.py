"""`perezvon stages list|set`: what clients see of the pipeline, set by an admin from the shell."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from tests.app.test_forget_cli import in_thread
from tests.conftest import Db
from tests.orders_helpers import reset_stages, stage_of


@pytest.fixture
async def stages_reset(db: Db, cli_db: str) -> AsyncIterator[None]:
    yield
    await reset_stages(db.sessions)


async def test_an_admin_names_a_stage_for_clients_and_marks_it_to_notify(
    db: Db, stages_reset: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await in_thread(
        "stages",
        "set",
        "negotiation",
        "--client-name-ru",
        "Отправлен",
        "--client-name-en",
        "Shipped",
        "--notify",
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == (
        "stage negotiation: clients see 'Отправлен' / 'Shipped', notifies clients"
    )
    async with db.sessions() as session:
        stage = await stage_of(session, "negotiation")
    assert (stage.client_name_ru, stage.client_name_en, stage.notify_client) == (
        "Отправлен",
        "Shipped",
        True,
    )

    assert await in_thread("stages", "list") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "code",
        "name",
        "outcome",
        "client",
        "(ru)",
        "client",
        "(en)",
        "notify",
    ]
    row = next(line for line in table if line.startswith("negotiation"))
    assert row.split() == ["negotiation", "Переговоры", "open", "Отправлен", "Shipped", "yes"]
    assert await in_thread("stages", "list", "--json") == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert [i["code"] for i in items][:2] == ["new", "qualified"]
    assert {i["code"]: i["notify_client"] for i in items}["negotiation"] is True

    assert (
        await in_thread("stages", "set", "negotiation", "--client-name-ru", "", "--no-notify") == 0
    )
    assert capsys.readouterr().out.strip() == (
        "stage negotiation: clients see '-' / 'Shipped', does not notify"
    )


async def test_stage_mistakes_are_one_line_naming_the_stage(
    stages_reset: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await in_thread("stages", "set", "shipped", "--client-name-ru", "x") == 1
    assert capsys.readouterr().err.strip() == (
        "error: no stage 'shipped'; stages: new, qualified, proposal, negotiation, won, lost"
    )
    assert await in_thread("stages", "set", "new", "--notify") == 1
    assert capsys.readouterr().err.strip() == (
        "error: stage 'new' has no client-facing name: clients cannot be told about it"
    )
    with pytest.raises(SystemExit):
        await in_thread("stages", "set", "new", "--notify", "--no-notify")
