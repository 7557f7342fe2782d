"""Telegram Business: business messages logged per second, as deployed (prints figures).

    .venv/bin/python bench/chats_business.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/chats_business.py --db sqlite --messages 1000 --chats 100

What runs, per database (a throwaway SQLite file, or a throwaway PostgreSQL database made
beside `--pg-admin-dsn` and dropped afterwards):
1. Migrate, add `--sellers` salespeople, and start the whole app of `perezvon run` in webhook
   mode (REST, the bot's webhook route, its outbox sender) under uvicorn on loopback, with the
   fake Bot API server of tests/fakes standing in for Telegram.
2. Polling mode (the default of `perezvon run`): the runtime long-polls the fake, which holds
   the backlog (a burst, as after an outage or a busy hour). Webhook mode: another process
   (as Telegram is) POSTs to `/telegram/webhook`, with the secret-token
   header and `--concurrency` requests in flight (Telegram's default max_connections is 40):
   first each salesperson's `business_connection`, then `--messages` business messages over
   `--chats` chats, clients' and salespeople's in turn. The first message of each chat makes
   a contact, a conversation and the "new chat" notice the outbox sends to the fake.
3. Figure: messages / seconds from the first message POSTed (or queued at the fake, in
   polling mode) to the last one on the timeline (counted in `chat_messages`). Target:
   >= 500/s. Both modes also print messages per CPU-second of the process (the fake
   server's work included; in webhook mode not the load process'), which a shared,
   overloaded machine does not distort.

Why the webhook route and not `dp.feed_update`: a deployed bot in webhook mode pays for the
secret check, the body parse, the update claim (one insert and commit) and the handling in a
background task, and these are a large part of the cost of one small message; polling pays
the same handling without the claim.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from _common import (  # bench/ is on sys.path as the script's folder
    add_pg_admin_dsn,
    add_salespeople,
    serve_on_loopback,
    start_load,
)

SECRET = "bench-business-secret"
SELLER_BASE = 700_000_000
CLIENT_BASE = 800_000_000


def business_connection(seller: int) -> dict[str, Any]:
    user = {"id": SELLER_BASE + seller, "is_bot": False, "first_name": f"Seller {seller}"}
    return {
        "business_connection": {
            "id": f"bench-connection-{seller}",
            "user": user,
            "user_chat_id": user["id"],
            "date": int(time.time()),
            "is_enabled": True,
            "rights": {"can_reply": True},
        }
    }


def business_message(index: int, chats: int, sellers: int) -> dict[str, Any]:
    chat = index % chats
    seller = chat % sellers
    client = {"id": CLIENT_BASE + chat, "is_bot": False, "first_name": f"Client {chat}"}
    account = {"id": SELLER_BASE + seller, "is_bot": False, "first_name": f"Seller {seller}"}
    sender = client if (index // chats) % 2 == 0 else account
    return {
        "business_message": {
            "message_id": index + 1,
            "date": int(time.time()),
            "chat": {"id": client["id"], "type": "private", "first_name": client["first_name"]},
            "from": sender,
            "business_connection_id": f"bench-connection-{seller}",
            "text": f"Message {index}: about the order, the delivery and the price",
        }
    }


# -- the load process (Telegram) -----------------------------------------------------------------


async def post_all(url: str, updates: list[dict[str, Any]], concurrency: int) -> int:
    """POST the updates with `concurrency` in flight, again until answered 200 (as Telegram
    does); returns how many answers were not a 200."""
    queue = iter(updates)
    errors = 0
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:

        async def worker() -> None:
            nonlocal errors
            for update in queue:
                for attempt in range(5):  # Telegram delivers again what was not answered 200
                    try:
                        answer = await http.post("/telegram/webhook", json=update, headers=headers)
                    except httpx.TransportError:  # a dropped connection: delivered again too
                        answer = None
                    if answer is not None and answer.status_code == 200:
                        break
                    errors += 1
                    await asyncio.sleep(0.5 * (attempt + 1))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return errors


async def load(args: argparse.Namespace) -> None:
    ids = itertools.count(1)
    connections = [{"update_id": next(ids), **business_connection(s)} for s in range(args.sellers)]
    messages = [
        {"update_id": next(ids), **business_message(i, args.chats, args.sellers)}
        for i in range(args.messages)
    ]
    errors = await post_all(args.load_url, connections, args.concurrency)
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()  # the server says when the connections are recorded
    started = time.time()
    errors += await post_all(args.load_url, messages, args.concurrency)
    print(json.dumps({"started": started, "posted": time.time(), "errors": errors}), flush=True)


# -- the server side --------------------------------------------------------------------------


async def count(container: Any, table: str) -> int:
    from sqlalchemy import text

    async with container.sessions() as session:
        return int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def until(container: Any, table: str, expected: int, within: float) -> float:
    """Wait until the table holds `expected` rows; returns the time.time() it did."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await count(container, table) >= expected:
            return time.time()
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{table}: fewer than {expected} rows after {within} s")


async def run_one(args: argparse.Namespace, label: str, url: str) -> None:

    from app.bot_component import BotComponent
    from app.settings import Settings
    from app.wiring import Container
    from core import migrate
    from core.context import Ctx
    from tests.fakes.telegram_api import TOKEN, FakeTelegram

    migrate.upgrade_in_thread(url)
    fake = FakeTelegram(token=TOKEN)
    await fake.start()
    settings = Settings(
        database_url=url,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake.url,
        telegram_mode=args.mode,
        public_url="https://crm.example.com",
        telegram_webhook_secret=SECRET,  # type: ignore[arg-type]
        log_level="WARNING",
    )
    container = Container.build(settings)
    async with container.sessions() as session:
        ctx = Ctx(session=session, config=container.config, clock=container.clock)
        await add_salespeople(ctx, args.sellers, "Seller", SELLER_BASE)
    bot = BotComponent(container)
    try:
        if args.mode == "polling":
            elapsed, note = await polling_run(args, container, bot, fake)
        else:
            elapsed, note = await webhook_run(args, container, bot)
        contacts = await count(container, "contacts")
        print(
            f"{label:<10} {args.mode:<7} {args.messages} messages over {args.chats} chats "
            f"({contacts} contacts made): {args.messages / elapsed:6.0f} logged/s "
            f"({elapsed:.2f} s{note})"
        )
    finally:
        await container.dispose()
        await fake.stop()


async def polling_run(
    args: argparse.Namespace, container: Any, bot: Any, fake: Any
) -> tuple[float, str]:
    """The default mode: the real runtime long-polls the fake, which holds the backlog."""
    await bot.start()
    try:
        await bot.runtime.wait_ready()
        ids = itertools.count(1)
        for seller in range(args.sellers):
            await fake.push_update({"update_id": next(ids), **business_connection(seller)})
        await until(container, "business_connections", args.sellers, 30)
        updates = [
            {"update_id": next(ids), **business_message(i, args.chats, args.sellers)}
            for i in range(args.messages)
        ]
        started, cpu = time.time(), time.process_time()
        for update in updates:
            await fake.push_update(update)
        done = await until(container, "chat_messages", args.messages, 600)
        cpu = time.process_time() - cpu
    finally:
        await bot.stop()
    # The machine may be shared: what one core would do, from the CPU time this process used
    # (the fake Telegram server runs in it too, so this is a floor).
    return done - started, f"; {args.messages / cpu:.0f} per CPU-second"


async def webhook_run(args: argparse.Namespace, container: Any, bot: Any) -> tuple[float, str]:
    """Webhook mode under uvicorn; the updates come from another process, as from Telegram."""
    app = container.http_app([bot], freeze_heap=True)  # as `perezvon run` does (app/heap.py)
    server, sock, serving = await serve_on_loopback(app, bot, access_log=False)
    try:
        loader = await start_load(
            __file__,
            sock,
            "--messages",
            str(args.messages),
            "--chats",
            str(args.chats),
            "--sellers",
            str(args.sellers),
            "--concurrency",
            str(args.concurrency),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert loader.stdin is not None and loader.stdout is not None
        await loader.stdout.readline()
        await until(container, "business_connections", args.sellers, 30)
        cpu = time.process_time()
        loader.stdin.write(b"go\n")
        await loader.stdin.drain()
        report = json.loads((await loader.stdout.readline()).decode())
        done = await until(container, "chat_messages", args.messages, 120)
        cpu = time.process_time() - cpu
        await loader.wait()
    finally:
        server.should_exit = True
        await serving
        sock.close()
    posted = report["posted"] - report["started"]
    return done - report["started"], (
        f"; POSTed in {posted:.2f} s, {report['errors']} non-200; "
        f"{args.messages / cpu:.0f} per CPU-second of the server"
    )


def pg_database(admin_dsn: str, name: str, *, create: bool) -> None:
    statement = (
        f'CREATE DATABASE "{name}"' if create else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    )
    subprocess.run(["psql", admin_dsn, "-q", "-c", statement], check=True)


async def main(args: argparse.Namespace) -> None:
    if args.load_url:
        await load(args)
        return
    modes = ("polling", "webhook") if args.mode == "both" else (args.mode,)
    print(
        f"Telegram Business, as deployed ({args.sellers} salespeople; webhook: POSTs from "
        f"another process, {args.concurrency} in flight)"
    )
    if args.db in ("sqlite", "both"):
        folder = tempfile.mkdtemp(prefix="bench_business_")
        for mode in modes:
            await run_one(
                argparse.Namespace(**{**vars(args), "mode": mode}),
                "SQLite",
                f"sqlite+aiosqlite:///{folder}/{mode}.db",
            )
    if args.db in ("postgres", "both"):
        for mode in modes:
            name = f"perezvon_bench_business_{os.getpid()}_{mode}"
            pg_database(args.pg_admin_dsn, name, create=True)
            try:
                base = args.pg_admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "")
                mode_args = argparse.Namespace(**{**vars(args), "mode": mode})
                await run_one(mode_args, "PostgreSQL", f"postgresql+asyncpg://{base}/{name}")
            finally:
                pg_database(args.pg_admin_dsn, name, create=False)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--sellers", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--mode", choices=("polling", "webhook", "both"), default="both")
    add_pg_admin_dsn(parser)
    parser.add_argument("--load-url", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
