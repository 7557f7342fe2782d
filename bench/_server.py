"""Server launcher for bench/webhooks.py: the Perezvon app or a bare FastAPI app under uvicorn.

    python bench/_server.py perezvon --port 8123 [--no-processor]   # PEREZVON_* env as usual
    python bench/_server.py bare --port 8124

Both run with the same uvicorn settings (one worker, `loop="auto"` and `http="auto"`, so
uvloop and httptools when installed, access log off). `--no-processor` starts Perezvon with
`WebContext.process_inbox=False`: webhooks are stored in the inbox and nothing applies them,
so the benchmark can fill a backlog and time the drain on its own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    parser.add_argument("app", choices=("perezvon", "bare"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-processor", action="store_true")
    args = parser.parse_args()
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
