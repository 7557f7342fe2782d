"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when configured), clock, ctx, and
`db`: the sessions, config and clock as one object, for tests that open sessions of their own."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.config import CoreConfig
from core.context import Actor, Ctx
from core.db import Base, create_engine, session_factory
from core.migrate import upgrade
from core.models import User
from core.users import service as users
from tests.fakes.clock import FakeClock
from tests.fakes.telegram_api import TOKEN, FakeTelegram

KEEP_TABLES = {"pipeline_stages", "alembic_version"}


def _worker_database(url: str | None) -> str | None:
    """Under pytest-xdist each worker gets a database of its own beside the configured one
    (`<name>_gw0`, …): the fixtures TRUNCATE it between tests, so workers must not share it.
    The variable is rewritten too, so subprocesses and modules that read it get the same."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"

    async def create() -> None:
        dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        try:
            exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    mine = base.set(database=name).render_as_string(hide_password=False)
    os.environ["PEREZVON_TEST_DATABASE_URL"] = mine
    return mine


PG_URL = _worker_database(os.environ.get("PEREZVON_TEST_DATABASE_URL"))


def _reset_postgres_schema(url: str) -> None:
    import asyncio

    async def reset() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database URL migrated to head once per test session."""
    if PG_URL:
        _reset_postgres_schema(PG_URL)
        upgrade(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return str(path)


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    if PG_URL:
        yield PG_URL
        return
    path = tmp_path / "perezvon.db"
    shutil.copyfile(migrated_template, path)
    yield f"sqlite+aiosqlite:///{path}"


async def emptied_engine(database_url: str) -> AsyncEngine:
    """An engine on `database_url`; on PostgreSQL (shared between tests) with every table but
    KEEP_TABLES emptied first."""
    engine = create_engine(database_url)
    if PG_URL:
        tables = ", ".join(
            f'"{t.name}"' for t in Base.metadata.sorted_tables if t.name not in KEEP_TABLES
        )
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await emptied_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config() -> CoreConfig:
    return CoreConfig(own_numbers=frozenset({"+74950000000"}))


@pytest.fixture
def ctx(session: AsyncSession, config: CoreConfig, clock: FakeClock) -> Ctx:
    return Ctx(session=session, config=config, clock=clock)


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API server, listening on a free local port."""
    fake = FakeTelegram(token=TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def system() -> Actor:
    return Actor.system("test")


@dataclass(frozen=True)
class Db:
    """The sessions, config and clock a test shares with the code under test, passed as one."""

    sessions: async_sessionmaker[AsyncSession]
    config: CoreConfig
    clock: FakeClock

    @asynccontextmanager
    async def ctx(self) -> AsyncIterator[Ctx]:
        """A fresh session as the core services take it (the caller commits, or they do)."""
        async with self.sessions() as session:
            yield Ctx(session=session, config=self.config, clock=self.clock)

    async def user(
        self,
        *,
        telegram_id: int | None,
        role: str = "sales",
        name: str = "Пётр",
        extensions: Sequence[str] = (),
        locale: str = "ru",
    ) -> User:
        """An employee (with Telegram, unless `telegram_id` is None), committed."""
        async with self.ctx() as ctx:
            return await users.create_user(
                ctx,
                actor=Actor.system("test"),
                name=name,
                role=role,
                telegram_user_id=telegram_id,
                extensions=list(extensions),
                locale=locale,
            )

    async def rows(self, model: type[Any], *where: Any) -> list[Any]:
        """Fresh rows of `model` (a new session), oldest first."""
        async with self.sessions() as session:
            return list(await session.scalars(select(model).where(*where).order_by(model.id)))

    async def one(self, model: type[Any], *where: Any) -> Any:
        """The one row of `model` that matches (fails if there are none or more)."""
        async with self.sessions() as session:
            return (await session.scalars(select(model).where(*where))).one()

    async def count(self, model: type[Any], *where: Any) -> int:
        async with self.sessions() as session:
            query = select(func.count()).select_from(model).where(*where)
            return int(await session.scalar(query) or 0)


@pytest.fixture
def db(sessions: async_sessionmaker[AsyncSession], config: CoreConfig, clock: FakeClock) -> Db:
    return Db(sessions=sessions, config=config, clock=clock)
