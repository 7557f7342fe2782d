"""The scheduler inside `perezvon run`: alone (`--components scheduler`, a real process)
and beside the web app (its lifespan); both remind by themselves."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.scheduler_component import SchedulerComponent
from app.settings import load_settings
from app.wiring import Container
from core.activities import service as activities
from core.context import Actor, Ctx
from core.models import Notification
from tests.conftest import PG_URL
from tests.ports import free_port
from tests.scheduler.helpers import make_user, start_perezvon_run

ROOT = Path(__file__).resolve().parents[2]


async def _reminded(sessions: async_sessionmaker[AsyncSession], activity_id: int) -> bool:
    async with sessions() as session:
        rows = await session.scalars(select(Notification).where(Notification.kind == "reminder"))
        return [row.payload["activity_id"] for row in rows] == [activity_id]


async def _wait(sessions: async_sessionmaker[AsyncSession], activity_id: int) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while not await _reminded(sessions, activity_id):
        assert asyncio.get_running_loop().time() < deadline, "no reminder came"
        await asyncio.sleep(0.05)


async def _due_task(ctx: Ctx) -> int:
    anna = await make_user(ctx, "Анна", tg=101)
    task = await activities.plan(
        ctx, actor=Actor.of_user(anna), title="Позвонить", due_at=datetime.now(UTC)
    )
    return task.id


async def test_perezvon_run_with_only_the_scheduler_reminds_and_stops_on_sigterm(
    ctx: Ctx,
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    tmp_path: Path,
) -> None:
    task_id = await _due_task(ctx)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PEREZVON_DATABASE_URL": database_url,
        "PEREZVON_REMINDERS_INTERVAL_SECONDS": "0.2",
        "PEREZVON_HTTP_PORT": str(free_port()),
    }

    async def perezvon() -> asyncio.subprocess.Process:
        return await start_perezvon_run(
            "scheduler",
            cwd=tmp_path,  # no .env from the repository
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    first = await perezvon()
    try:
        await _wait(sessions, task_id)
        if PG_URL is None:
            second = await perezvon()
            _, err = await asyncio.wait_for(second.communicate(), 60)
            assert second.returncode != 0
            assert "already running on this SQLite database" in err.decode()
    finally:
        first.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(first.communicate(), 60)
    # The scheduler alone serves no HTTP (issue 15): it stops on SIGTERM and exits 0.
    assert first.returncode == 0, err.decode()
    assert "scheduler stopped" in err.decode() and "Uvicorn" not in err.decode()
    assert "scheduler running" in err.decode() and "scheduler running" not in out.decode()


async def test_the_scheduler_says_it_runs_in_the_log_not_on_stdout(
    database_url: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    container = Container.build(load_settings(database_url=database_url))
    component = SchedulerComponent()
    app = container.http_app([component])
    async with app.router.lifespan_context(app):
        pass

    said = [r for r in caplog.records if r.name == "app.scheduler_component"]
    assert [(r.levelno, r.getMessage()) for r in said] == [
        (logging.INFO, "Perezvon scheduler running")
    ]
    assert "scheduler running" not in capsys.readouterr().out


async def test_the_scheduler_runs_for_as_long_as_the_web_app_serves(
    ctx: Ctx, sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    task_id = await _due_task(ctx)
    settings = load_settings(database_url=database_url, reminders_interval_seconds=0.05)
    container = Container.build(settings)
    component = SchedulerComponent()
    app = container.http_app([component])
    async with app.router.lifespan_context(app):
        assert component.scheduler is not None
        assert component.scheduler.running
        running = component.scheduler
        await _wait(sessions, task_id)
    assert not running.running


def test_bad_scheduler_settings_are_named() -> None:
    from app.settings import SettingsError

    with pytest.raises(SettingsError, match=r"PEREZVON_GREETINGS_HOLIDAYS: .*'02-30'"):
        load_settings(greetings_holidays="01-01,02-30")
    with pytest.raises(SettingsError, match="PEREZVON_GREETINGS_LOCAL_HOUR"):
        load_settings(greetings_local_hour=24)


@pytest.mark.skipif(PG_URL is not None, reason="the single-instance lock is for SQLite")
def test_perezvon_run_refuses_a_second_scheduler_on_sqlite_with_one_line(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import uvicorn

    from app.cli import main

    def serve(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("it must refuse before serving")

    monkeypatch.setattr(uvicorn.Server, "run", serve)
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    monkeypatch.setenv("PEREZVON_DATABASE_URL", database_url)
    container = Container.build(load_settings(database_url=database_url))
    holder = SchedulerComponent()
    holder.make(container).claim_database()  # this process's scheduler holds the database
    try:
        assert main(["run", "--components", "webhooks,scheduler"]) == 2
    finally:
        asyncio.run(holder.stop())
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: a scheduler is already running on this SQLite database")
    again = SchedulerComponent()
    again.make(container).claim_database()  # released: free again
    asyncio.run(again.stop())
