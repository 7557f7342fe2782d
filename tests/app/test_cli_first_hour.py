"""The CLI as a newcomer meets it: help, version, lists, doctor, components, closed pipes."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter

from app import components
from app.cli import build_parser, main
from app.cli_output import plural
from app.settings import Settings, load_settings
from app.wiring import Container

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in list(os.environ):
        if name.startswith("PEREZVON_"):
            monkeypatch.delenv(name)
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    monkeypatch.setenv("PEREZVON_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    return url


class Pager(components.Component):
    """A component that needs a setting nobody set."""

    name = "pager"

    def configured(self, settings: Settings) -> str | None:
        return None if settings.telegram_token else "set PEREZVON_TELEGRAM_TOKEN"


@pytest.fixture
def pager(monkeypatch: pytest.MonkeyPatch) -> Pager:
    component = Pager()
    monkeypatch.setattr(components, "REGISTRY", [*components.REGISTRY, component])
    return component


def test_bare_perezvon_prints_help_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: perezvon") and "doctor" in out and "calls" in out


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("perezvon 0.")


def _parsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def test_every_option_of_every_command_has_help() -> None:
    missing = [
        f"{prog} {'/'.join(action.option_strings)}"
        for prog, parser in _parsers(build_parser())
        for action in parser._actions
        if action.option_strings and not action.help
    ]
    assert missing == []


def test_english_plurals() -> None:
    assert [plural(1, "event"), plural(2, "event"), plural(1200, "company")] == [
        "1 event",
        "2 events",
        "1,200 companies",
    ]


def test_demo_seed_then_lists_as_tables_and_json(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "seed", "--contacts", "60", "--users", "3"]) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith("demo data: added 3 users, ") and "60 contacts" in summary
    assert "SeedReport" not in summary and "(s)" not in summary
    assert main(["calls", "list", "--limit", "5"]) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert table[0].split()[:4] == ["id", "started", "(UTC)", "dir"]
    assert len(table) == 7 and table[-1].startswith("5 calls shown of ")
    assert main(["calls", "list", "--json", "--limit", "3"]) == 0
    calls = json.loads(capsys.readouterr().out)
    assert len(calls["items"]) == 3 and calls["total"] >= 3
    assert {"id", "started_at", "status", "client"} <= set(calls["items"][0])
    assert main(["activities", "list", "--kind", "callback", "--json"]) == 0
    callbacks = json.loads(capsys.readouterr().out)
    assert callbacks["items"] and {a["kind"] for a in callbacks["items"]} == {"callback"}
    assert main(["activities", "list", "--kind", "callback"]) == 0
    assert "callback" in capsys.readouterr().out
    last = callbacks["items"][-1]
    phone = last["callback_phone"]  # asked for the way people write it:
    local = "8 (" + phone[2:5] + ") " + phone[5:8] + "-" + phone[8:10] + "-" + phone[10:]
    assert main(["activities", "list", "--kind", "callback", "--phone", local, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["items"]
    assert last["id"] in {a["id"] for a in found}
    assert all(a["callback_phone"] == phone or a["contact_id"] == last["contact_id"] for a in found)
    assert main(["activities", "list", "--phone", "not a number"]) == 1
    assert "phone" in capsys.readouterr().err
    assert main(["users", "list", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 3


def test_invite_names_the_role_in_english(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "invite", "--role", "sales"]) == 0
    assert capsys.readouterr().out.startswith("invite for a salesperson, valid until")


def test_doctor_uses_full_names_counts_3cx_by_the_generic_token_and_lists_components(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PEREZVON_GENERIC_TOKEN", "t0ken")
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "pbx 3cx       enabled (by PEREZVON_GENERIC_TOKEN)" in out
    assert "pbx zadarma   disabled (set PEREZVON_ZADARMA_SECRET)" in out
    assert "PEREZVON_TELEGRAM_TOKEN not set" in out
    assert "run starts    webhooks" in out
    assert "run skips     bot (set PEREZVON_TELEGRAM_TOKEN, a token from @BotFather)" in out


def test_a_component_asked_for_that_cannot_run_stops_start_up(
    database: str, pager: Pager, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--components", "webhooks,bot"]) == 2
    assert (
        capsys.readouterr().err
        == "error: component bot cannot run: set PEREZVON_TELEGRAM_TOKEN, a token from @BotFather\n"
    )
    assert main(["run", "--components", "pager"]) == 2
    err = capsys.readouterr().err
    assert err == "error: component pager cannot run: set PEREZVON_TELEGRAM_TOKEN\n"


def test_without_components_run_chooses_the_configured_ones(pager: Pager) -> None:
    chosen, skipped = components.select(load_settings(), None)
    assert [c.name for c in chosen] == ["webhooks", "scheduler"]
    assert ("pager", "set PEREZVON_TELEGRAM_TOKEN") in skipped
    chosen, skipped = components.select(load_settings(telegram_token="1:x"), None)
    assert [c.name for c in chosen] == ["webhooks", "scheduler", "bot", "pager"]


async def test_components_start_and_stop_in_the_app_lifespan_and_add_routes(
    database: str,
) -> None:
    events: list[str] = []

    class Bot(components.Component):
        name = "bot"

        def routers(self, container: Container) -> Sequence[APIRouter]:
            router = APIRouter()

            @router.post("/telegram/webhook")
            async def webhook() -> dict[str, bool]:
                return {"ok": True}

            return [router]

        async def start(self, container: Container) -> None:
            events.append("start")

        async def stop(self) -> None:
            events.append("stop")

    app = Container.build(load_settings()).http_app([Bot()])

    @asynccontextmanager
    async def served() -> AsyncIterator[httpx.AsyncClient]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                yield http

    async with served() as http:
        assert events == ["start"]
        assert (await http.post("/telegram/webhook")).json() == {"ok": True}
    assert events == ["start", "stop"]


def test_a_closed_pipe_ends_quietly(database: str, tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written (`| head -0`)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "doctor"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141


def test_make_run_installs_no_dev_tools_and_installs_under_a_lock(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    plan = subprocess.run(
        ["make", "-n", "run", f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    assert "[dev]" not in plan and '-e "."' in plan
    lock = f"flock {venv}.lock" if shutil.which("flock") else ""
    assert lock in plan
    tests = subprocess.run(
        ["make", "-n", "test", f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    assert '-e ".[dev]"' in tests and lock in tests
