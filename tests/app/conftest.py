"""Shared set-up of the app tests: the test database as PEREZVON_DATABASE_URL (`cli_db`), a
fresh migrated SQLite file for commands that make their own (`database`), `cli(...)`, a
command group's parser and dispatch as `perezvon` runs them, also in a worker thread; and
`client_of(app)`, `web`: the HTTP app as a client sees it."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.cli import main
from app.http import create_app
from app.settings import load_settings
from telephony_webhooks.context import WebContext


@pytest.fixture
def cli_db(
    database_url: str, engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The test database (SQLite or PostgreSQL), emptied, as PEREZVON_DATABASE_URL."""
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    monkeypatch.setenv("PEREZVON_DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new SQLite file migrated by `perezvon db upgrade`, as PEREZVON_DATABASE_URL."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    monkeypatch.setenv("PEREZVON_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    return url


def cli(
    module: Any, *prefix: str, prog: str = "perezvon", dest: str = "command"
) -> Callable[..., int]:
    """`run(*argv)`: parse as `perezvon <prefix> …` would (the parsers `module` adds) and run
    it with the settings from the environment."""

    def run(*argv: str) -> int:
        parser = argparse.ArgumentParser(prog=prog)
        module.add_parsers(parser.add_subparsers(dest=dest, required=True))
        return int(module.dispatch(parser.parse_args([*prefix, *argv]), load_settings()))

    return run


def threaded(run: Callable[..., int]) -> Callable[..., Awaitable[int]]:
    """`run` in a worker thread (a command runs its own event loop), awaited from a test."""

    async def in_thread(*argv: str) -> int:
        return await asyncio.get_running_loop().run_in_executor(None, run, *argv)

    return in_thread


def client_of(app: Any) -> httpx.AsyncClient:
    """A client of the ASGI `app` (enter it; the app's lifespan is the caller's)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://crm")


@pytest.fixture
async def web(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP app on the test database, no components running, as a client sees it."""
    async with client_of(create_app(WebContext(sessions=sessions))) as http:
        yield http
