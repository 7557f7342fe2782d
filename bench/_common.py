"""What several benches share: the `--pg-admin-dsn` option and the throwaway PostgreSQL database
made beside it, their salespeople, and waiting for their own server and bot to be up.

Imported as `from _common import ...` (bench/ is on sys.path as the script's folder); what it
needs of the app or a driver it imports when called, so `--help` stays light.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def add_pg_admin_dsn(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """`--pg-admin-dsn` (default `$PEREZVON_BENCH_PG_DSN`, else the local `postgres`)."""
    parser.add_argument(
        "--pg-admin-dsn", default=os.environ.get("PEREZVON_BENCH_PG_DSN", PG_ADMIN_DSN), help=help
    )


def _admin(admin_dsn: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    async def run() -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(run())


@contextmanager
def throwaway_postgres(admin_dsn: str, name: str) -> Iterator[str]:
    """The asyncpg URL of a database `name` made beside `admin_dsn`, dropped after, whatever
    happens."""
    from sqlalchemy.engine import make_url

    _admin(admin_dsn, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin_dsn).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def add_salespeople(
    ctx: Any, count: int, name: str, first_telegram_id: int, **first: Any
) -> None:
    """`count` salespeople "<name> 0", "<name> 1", … with Telegram ids from `first_telegram_id`;
    `first` are more fields of the first one (e.g. its extensions)."""
    from core.context import Actor
    from core.users import service as users

    for index in range(count):
        await users.create_user(
            ctx,
            actor=Actor.system("bench"),
            name=f"{name} {index}",
            role="sales",
            telegram_user_id=first_telegram_id + index,
            **(first if index == 0 else {}),
        )


async def serve_on_loopback(
    app: Any, bot: Any, **config: Any
) -> tuple[Any, socket.socket, asyncio.Task[None]]:
    """Serve `app` under uvicorn on a free loopback port and wait until it listens and `bot`
    is ready: the server (set `should_exit`, then await the task), its socket and its task."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **config))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    await until_serving(server, bot)
    return server, sock, serving


async def start_load(script: str, sock: socket.socket, *options: str, **kwargs: Any) -> Any:
    """Run `script` again as the load process (`--load-url` of the server on `sock`): another
    process, as Telegram or the PBX is, so the bench's own event loop only serves."""
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return await asyncio.create_subprocess_exec(
        sys.executable, script, "--load-url", url, *options, **kwargs
    )


async def until_serving(server: Any, bot: Any) -> None:
    """Wait for the uvicorn server to listen, then for the bot's runtime to be ready."""
    for _ in itertools.count():
        if server.started:
            break
        await asyncio.sleep(0.05)
    await bot.runtime.wait_ready()


def budget_wait(
    fake: Any,
    sent: Any,
    queued: float,
    *,
    burst: int = 3,
    interval: float = 1.0,
    reserve: float = 0.0,
) -> float:
    """Seconds the chat's budget (the outbox's per-chat token bucket at its defaults: a burst
    of 3, then one message a second; `reserve`: tokens the kind leaves for a screen pop, 1
    for grouped relays) kept `sent` (a call at the fake Bot API) from going after it was
    `queued` (monotonic): replayed from the messages and edits the chat received before it,
    the earliest moment a message could follow them, less `queued`. What is left of a
    message's latency is what Perezvon itself added; this part is Telegram's ~1 message a
    second per chat."""
    before = sorted(
        c.at
        for c in fake.calls
        if c is not sent
        and c.chat_id == sent.chat_id
        and c.status == 200
        and c.at <= sent.at
        and c.method in ("sendMessage", "editMessageText", "copyMessage", "sendDocument")
    )
    if not before:
        return 0.0
    tokens, last = float(burst), before[0]
    for moment in before:
        tokens = min(burst, tokens + (moment - last) / interval) - 1
        last = moment
    earliest = last + max(0.0, 1 + reserve - tokens) * interval
    return max(0.0, earliest - queued)
