"""Database plumbing: declarative base, column types, the timestamps mixin, partial indexes,
engine and session factories."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Index, MetaData, event, text
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from core.drivers import sqlite_gate
from core.drivers.sqlite_inline import create_inline_engine

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Timestamped:
    """When a row was created and last changed (set by the code that writes it: no default)."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def partial_index(
    name: str, *columns: str, where: str, postgresql_where: str | None = None, unique: bool = False
) -> Index:
    """An index over the rows matching `where`, the same SQL on SQLite and PostgreSQL unless
    PostgreSQL's is given apart."""
    return Index(
        name,
        *columns,
        unique=unique,
        sqlite_where=text(where),
        postgresql_where=text(where if postgresql_where is None else postgresql_where),
    )


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    """Every SQLite connection: the engine's, the inline driver's, the inbox writer's."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a webhook answered 200 must survive a power cut; group commit pays the fsync once.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def sqlite_file(url: str | URL) -> str | None:
    """The file of a plain SQLite URL, or None (in-memory, URI options, other databases)."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite" or url.query:
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


# --- database URLs as people write them -------------------------------------------------

# libpq's sslmode values, which asyncpg's `ssl` takes as they are.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# Query options a postgresql+asyncpg URL may carry: asyncpg.connect's keywords that work as
# the strings a URL holds, and the dialect's own. Anything else would reach asyncpg.connect
# as an unexpected keyword (a traceback at the first connection), so it is refused up front.
ASYNCPG_URL_OPTIONS = frozenset(
    {"ssl", "target_session_attrs", "command_timeout", "passfile", "prepared_statement_cache_size"}
    | {"user", "password", "host", "port"}
)
# libpq's certificate options: asyncpg reads the same files from these environment variables.
_LIBPQ_CERT_VARIABLES = {
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
}
# Query parameters whose values are never printed.
_SECRET_QUERY_WORDS = ("password", "secret", "token")


class DatabaseUrlError(ValueError):
    """A database URL that cannot work, said without repeating the URL (it may hold a password)."""


def normalize_database_url(url: str) -> str:
    """The URL in the form the engine takes, libpq habits translated (`postgresql://`,
    `?sslmode=`); DatabaseUrlError, never echoing the URL, for one that cannot work."""
    url = url.strip()
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    elif url.startswith("sqlite://"):
        url = "sqlite+aiosqlite://" + url.split("://", 1)[1]
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise DatabaseUrlError(
            "use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user:password@host/db"
        )
    try:
        parsed = make_url(url)
    except Exception:  # SQLAlchemy's message repeats the URL, password and all
        raise DatabaseUrlError(
            "not a URL that can be read: the form is "
            "postgresql+asyncpg://user:password@host:5432/db (port a number; "
            "percent-encode @ : / ? # in the user name or password)"
        ) from None
    if parsed.get_backend_name() != "postgresql":
        return url  # a SQLite path may hold an @ (/home/me@corp/crm.db)
    if "@" in (parsed.host or "") or "@" in (parsed.database or ""):
        raise DatabaseUrlError(
            "the user name or password holds an unencoded '@': write it as %40 "
            "(percent-encode : / ? # too)"
        )
    return _asyncpg_query(parsed, url)


def _asyncpg_query(parsed: URL, url: str) -> str:
    query = dict(parsed.query)
    if "sslmode" in query:
        if "ssl" in query:
            raise DatabaseUrlError("give either ?ssl= or ?sslmode=, not both")
        query["ssl"] = query.pop("sslmode")  # asyncpg takes libpq's modes under this name
    for name, value in query.items():
        if name in _LIBPQ_CERT_VARIABLES:
            raise DatabaseUrlError(
                f"?{name}= is a libpq option asyncpg does not take from the URL: remove it and "
                f"set the {_LIBPQ_CERT_VARIABLES[name]} environment variable to the file instead"
            )
        if name not in ASYNCPG_URL_OPTIONS:
            raise DatabaseUrlError(
                f"?{name}= is not an option asyncpg takes; remove it (the URL may carry "
                f"{', '.join(sorted(ASYNCPG_URL_OPTIONS - {'user', 'password', 'host', 'port'}))})"
            )
        if name == "ssl" and (not isinstance(value, str) or value not in SSL_MODES):
            raise DatabaseUrlError(f"?ssl= (or ?sslmode=) takes one of {', '.join(SSL_MODES)}")
    if query == dict(parsed.query):
        return url
    return parsed.set(query=query).render_as_string(hide_password=False)


def display_url(url: str | None) -> str:
    """A database or Redis URL fit to print or log: no password, neither after the user name
    nor in the query (`?password=`), whatever the URL holds."""
    if not url:
        return "-"
    try:
        parsed = make_url(url)
    except Exception:  # unreadable: the scheme and host part only, never what precedes an @
        scheme, _, rest = url.partition("://")
        host = rest.rpartition("@")[2].partition("?")[0]
        return f"{scheme}://{host}" if rest else "(a URL that cannot be read)"
    if "@" in (parsed.host or ""):  # an unencoded @ in the password: its tail looks like a host
        parsed = parsed.set(host=parsed.host.rpartition("@")[2], password="***")  # type: ignore[union-attr]
    shown = parsed.set(query={}).render_as_string(hide_password=True)
    pairs = []
    for name, values in parsed.query.items():
        secret = any(word in name.lower() for word in _SECRET_QUERY_WORDS)
        for value in (values,) if isinstance(values, str) else values:
            pairs.append(f"{name}={'***' if secret else value}")
    return shown + ("?" + "&".join(pairs) if pairs else "")


# Options of SQLAlchemy's asyncpg dialect, not of asyncpg.connect.
_DIALECT_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_fallback")


def asyncpg_connect_args(url: str | URL) -> dict[str, Any] | None:
    """The keyword arguments of `asyncpg.connect` for a PostgreSQL+asyncpg URL, as the
    engine's own connections get them (`?ssl=require` included), or None for other URLs.
    For the hot paths that talk to asyncpg without the engine: look-ups and the inbox.
    (A DSN would pass `ssl=…` to the server as a setting, which it refuses.)"""
    url = make_url(url)
    if url.get_backend_name() != "postgresql" or url.get_driver_name() != "asyncpg":
        return None
    _args, options = url.get_dialect()().create_connect_args(url)
    return {k: v for k, v in options.items() if k not in _DIALECT_ONLY}


def create_bulk_engine(url: str, *, echo: bool = False) -> AsyncEngine | None:
    """An engine for background work made of many short statements (the inbox processor).

    On a SQLite file: the inline driver of core/drivers/sqlite_inline.py, which spares each
    statement four thread hand-offs. Otherwise None: use the shared engine.
    """
    database = sqlite_file(url)
    if database is None:
        return None
    return create_inline_engine(database, pragmas=sqlite_pragmas, echo=echo)


def create_read_engine(url: str, *, echo: bool = False) -> AsyncEngine | None:
    """An engine for short reads that must not wait behind the event loop's other work (the
    outbox renders screen pops and post-call prompts through it).

    On a SQLite file: the inline driver, read-only, with deferred transactions (no write
    lock, no write gate): a card's ten indexed reads take a few hundred microseconds where
    each of them waited its turn twice through aiosqlite's thread on a busy loop. Otherwise
    None: use the shared engine (asyncpg does not hop threads).
    """
    database = sqlite_file(url)
    if database is None:
        return None
    return create_inline_engine(database, pragmas=sqlite_pragmas, echo=echo, read_only=True)


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    """An async engine tuned for a server: WAL and foreign keys on SQLite, a pool on PostgreSQL."""
    if is_sqlite(url):
        extra: dict[str, Any] = {"poolclass": StaticPool} if ":memory:" in url else {}
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 10}, **extra)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        database = sqlite_file(url)
        if database is not None:  # writers of this process queue in order (sqlite_gate)
            sqlite_gate.install(engine, os.path.abspath(database))
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class HoldingSession(Session):
    """A session that keeps every object it loads until it is closed (`holding_sessions`).

    SQLAlchemy's identity map holds objects weakly: an object nobody references is dropped
    at once, and the next `session.get` of it runs its SELECT again (with its `selectin`
    relationships: a User is two statements). A unit of work that touches the same few rows
    for each of hundreds of items (the inbox processor's batch: the ringing client's owner,
    once per call) loaded them hundreds of times. Held, the object stays in the identity map:
    `get` finds it there, and what the session sees is what it would have seen (the same
    transaction; expired attributes still load on access).
    """


@event.listens_for(HoldingSession, "loaded_as_persistent")
def _hold(session: Session, instance: object) -> None:
    held: list[object] | None = session.info.get("held")
    if held is None:
        session.info["held"] = held = []
    held.append(instance)


@event.listens_for(HoldingSession, "after_soft_rollback")
def _let_go(session: Session, _previous: Any) -> None:
    session.info.pop("held", None)


def holding_sessions(factory: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """The same sessions as `factory`, keeping what they load (HoldingSession): for units of
    work that are short but read the same rows many times, never for long-lived sessions."""
    return async_sessionmaker(**{**factory.kw, "sync_session_class": HoldingSession})


@asynccontextmanager
async def session_scope(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One session per request/update/job; whatever a service did not commit is rolled back."""
    async with factory() as session:
        try:
            yield session
        except BaseException:
            # The body's exception is what the caller gets. A cancellation in mid-query leaves
            # the connection invalid and this rollback raises too; raising that instead would
            # turn CancelledError into an Exception a retry loop catches and keeps running.
            if session.in_transaction():
                try:
                    await session.rollback()
                except Exception:
                    log.debug("rollback after a failed or cancelled body failed too", exc_info=True)
            raise
        if session.in_transaction():
            await session.rollback()
