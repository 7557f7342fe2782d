"""Server launcher for bench/webhooks.py: the Perezvon app or a bare FastAPI app under uvicorn.

    python bench/_server.py perezvon --port 8123 [--no-processor]   # PEREZVON_* env as usual
    python bench/_server.py bare --port 8124
    python bench/_server.py floor --port 8125 --parts insert,lookup   # PEREZVON_DATABASE_URL

Both run with the same uvicorn settings (one worker, `loop="auto"` and `http="auto"`, so
uvloop and httptools when installed, access log off). `--no-processor` starts Perezvon with
`WebContext.process_inbox=False`: webhooks are stored in the inbox and nothing applies them,
so the benchmark can fill a backlog and time the drain on its own.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvicorn
from fastapi import FastAPI, Request, Response


def bare_app() -> FastAPI:
    """The floor: FastAPI + uvicorn reading the body and answering 200, nothing else."""
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> Response:
        return Response(content=b"ok")

    @app.post("/webhooks/zadarma")
    async def zadarma(request: Request) -> Response:
        await request.body()
        return Response(content=b"{}", media_type="application/json")

    @app.post("/webhooks/generic")
    async def generic(request: Request) -> Response:
        await request.body()
        return Response(content=b'{"ok": true}', media_type="application/json")

    return app


def floor_app(database_url: str, parts: set[str]) -> FastAPI:
    """The floor of a Zadarma webhook: what any implementation must do, and nothing else.

    On the bare app's endpoint, per request: parse the form and check Zadarma's signature
    (HMAC-SHA1, constant-time compare), then with `insert` store the body durably (the row
    of `telephony_events`, group-committed as the inbox does: one transaction for every
    request waiting, SQLite `synchronous=FULL`), and with `lookup` run the caller look-up
    (LOOKUP_PHONE_SQL, alone: asyncpg from a pool of 4 on PostgreSQL, sqlite3 on the
    loop's thread on SQLite) for NOTIFY_START and name the caller in the answer.
    No processor, no adapter, no telemetry: bench/webhooks.py --floors puts each part
    between the bare app and `perezvon run`.
    """
    import asyncio
    import base64
    import hashlib
    import hmac
    import json
    import os
    import sqlite3
    from contextlib import asynccontextmanager
    from datetime import UTC, datetime
    from urllib.parse import parse_qsl

    from core.contacts.service import LOOKUP_PHONE_SQL, lookup_params
    from core.db import asyncpg_connect_args, sqlite_file
    from telephony_webhooks.inbox import PostgresInboxConnection, SqliteInboxThread

    secret = os.environ["PEREZVON_ZADARMA_SECRET"].encode()
    INBOX, TABLE = "telephony_events", "bench_floor_events"
    database = sqlite_file(database_url)
    connect_args = asyncpg_connect_args(database_url)
    writer: Any = (
        SqliteInboxThread(database) if database else PostgresInboxConnection(connect_args or {})
    )
    # Its own table (the inbox's columns and dedupe key), so `perezvon run` started on the
    # same database later finds no rows of the floor's to apply.
    writer._sql = {
        n: sql.replace(f"INTO {INBOX} ", f"INTO {TABLE} ") for n, sql in writer._sql.items()
    }
    queue: asyncio.Queue[tuple[tuple[Any, ...], asyncio.Future[None]]] = asyncio.Queue()
    state: dict[str, Any] = {}

    async def write_batches() -> None:  # the group commit: every waiting row in one go
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < 500:
                batch.append(queue.get_nowait())
            await writer.write([row for row, _ in batch])
            for _row, done in batch:
                done.set_result(None)

    positional = LOOKUP_PHONE_SQL
    for index, name in enumerate(("last10", "e164", "any_country"), start=1):
        positional = positional.replace(f":{name}", f"${index}")

    async def look_up(number: str) -> Any:
        params = lookup_params(number, region="RU")
        if params is None:
            return None
        if database:
            sql = LOOKUP_PHONE_SQL.replace(":yes", "1")
            params["any_country"] = int(params["any_country"])
            rows = state["sqlite"].execute(sql, params).fetchall()
            return rows[0] if rows else None
        sql = positional.replace(":yes", "TRUE")
        return await state["pool"].fetchrow(
            sql, params["last10"], params["e164"], params["any_country"]
        )

    async def make_table() -> None:
        if database:
            with sqlite3.connect(database) as conn:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} AS SELECT * FROM {INBOX} WHERE 0")
                conn.execute(
                    f"CREATE UNIQUE INDEX IF NOT EXISTS uq_{TABLE} ON {TABLE} (dedupe_key)"
                )
            return
        import asyncpg

        conn = await asyncpg.connect(**(connect_args or {}))
        try:
            await conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (LIKE {INBOX} INCLUDING ALL)")
        finally:
            await conn.close()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        if "insert" in parts:
            await make_table()
        if "lookup" in parts:
            if database:
                state["sqlite"] = sqlite3.connect(database, isolation_level=None)
                state["sqlite"].execute("PRAGMA query_only=ON")
            else:
                import asyncpg  # type: ignore[import-untyped]

                state["pool"] = await asyncpg.create_pool(min_size=1, max_size=4, **connect_args)
        task = asyncio.create_task(write_batches())
        yield
        task.cancel()
        await writer.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> Response:
        return Response(content=b"ok")

    @app.post("/webhooks/zadarma")
    async def zadarma(request: Request) -> Response:
        body = await request.body()
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        did = form.get("called_did") or form.get("destination", "")
        signed = form.get("caller_id", "") + did + form.get("call_start", "")
        digest = hmac.new(secret, signed.encode(), hashlib.sha1).hexdigest()
        expected = base64.b64encode(digest.encode()).decode()
        event = form.get("event", "")
        if not hmac.compare_digest(expected, request.headers.get("signature", "")):
            return Response(status_code=401)
        if "insert" in parts:
            received = datetime.now(UTC)
            row = (
                "zadarma",
                f"{form.get('pbx_call_id')}:{event}",
                form.get("pbx_call_id"),
                event,
                body,
                "application/x-www-form-urlencoded",
                json.dumps({"signature": request.headers.get("signature", "")}),
                request.client.host if request.client else None,
                received.replace(tzinfo=None).isoformat(" ") if database else received,
                0,
            )
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            await queue.put((row, done))
            await done
        answer = b"{}"
        if "lookup" in parts and event == "NOTIFY_START":
            found = await look_up(form.get("caller_id", ""))
            if found is not None:
                answer = json.dumps({"caller_name": found[1]}, ensure_ascii=False).encode()
        return Response(content=answer, media_type="application/json")

    return app


def perezvon_app(process_inbox: bool) -> FastAPI:
    from contextlib import asynccontextmanager

    from app.http import create_app
    from app.settings import load_settings
    from app.wiring import Container

    container = Container.build(load_settings())
    web = container.web_context()
    web.process_inbox = process_inbox

    @asynccontextmanager
    async def dispose_engine(_app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        await container.dispose()

    return create_app(web, lifespan_hooks=[dispose_engine])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=("perezvon", "bare", "floor"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-processor", action="store_true")
    parser.add_argument("--parts", default="insert,lookup", help="floor: insert, lookup or both")
    args = parser.parse_args()
    if args.app == "floor":
        parts = set(args.parts.split(","))
        app = floor_app(os.environ["PEREZVON_DATABASE_URL"], parts)
    else:
        app = bare_app() if args.app == "bare" else perezvon_app(not args.no_processor)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        loop="auto",
        http="auto",
    )


if __name__ == "__main__":
    main()
