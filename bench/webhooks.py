"""PBX webhook pipeline under load: `perezvon run` as deployed, then the components.

The headline (bench/_deployed.py, wrk): `perezvon run` as a user starts it vs a bare FastAPI
app, Zadarma START/ANSWER/END calls and NOTIFY_START alone, alternating rounds
(`--headline-only` stops there). Then today's component figures: accept throughput,
processing lag, backlog drain.

    python bench/webhooks.py                      # SQLite (a migrated temp file)
    python bench/webhooks.py --db postgres        # a throwaway PostgreSQL database
    python bench/webhooks.py --db both --count 20000 --concurrency 64

Servers run under uvicorn in subprocesses (bench/_server.py) on 127.0.0.1 and a free port;
load comes from another subprocess (bench/_load.py, aiohttp), so the client does not share
the server's event loop. Phases, each on a fresh server process:

1. bare: a FastAPI app whose one endpoint reads the body and answers 200 — the floor.
2. accept: Perezvon, processor on, closed loop (`--concurrency` connections, `--count`
   signed generic events with distinct dedupe keys): req/s, p50/p99, ratio to bare.
3. lag: the same server after its backlog is gone, open loop at `--rate` events/s for
   `--seconds`: p50/p99 of `processed_at - received_at` of those inbox rows.
4. drain: Perezvon with the processor off (`WebContext.process_inbox=False`), `--backlog`
   events posted; the server is stopped and an `InboxProcessor` in this process times
   `drain()` over the backlog (events/s).

Not a test: it prints figures and the target checks (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _deployed  # noqa: E402  (bench/ is on sys.path as the script's folder)
from _common import add_pg_admin_dsn, throwaway_postgres  # noqa: E402
from sqlalchemy import text  # noqa: E402

TOKEN = "bench-generic-token"
TARGETS = {"ratio": 0.6, "lag_p99_s": 1.0, "drain_eps": 1000.0}
# Zadarma START/ANSWER/END; NOTIFY_START alone (issue 20): ratios to the bare app, per database.
HEADLINE_TARGETS = {"sqlite": {"mix": 0.8, "start": 0.8}, "postgres": {"mix": 0.8, "start": 0.6}}


@contextmanager
def server(kind: str, database_url: str, *, processor: bool = True) -> Iterator[str]:
    port = _deployed.free_port()
    env = {
        **os.environ,
        "PEREZVON_DATABASE_URL": database_url,
        "PEREZVON_GENERIC_TOKEN": TOKEN,
        "PEREZVON_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, str(ROOT / "bench" / "_server.py"), kind, "--port", str(port)]
    if not processor:
        command.append("--no-processor")
    proc = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        yield _deployed.wait_up(f"http://127.0.0.1:{port}", proc)
    finally:
        _deployed.stop(proc)


def load(url: str, prefix: str, count: int, *, concurrency: int, rate: float = 0.0) -> Any:
    command = [sys.executable, str(ROOT / "bench" / "_load.py"), "--url", url]
    command += ["--token", TOKEN, "--prefix", prefix, "--count", str(count)]
    command += ["--concurrency", str(concurrency), "--rate", str(rate)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- database helpers (run in this process, between phases) ------------------------------------


def _engine(database_url: str) -> Any:
    from core.db import create_engine

    return create_engine(database_url)


async def _scalar(database_url: str, sql: str, **params: Any) -> Any:
    engine = _engine(database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()
    finally:
        await engine.dispose()


def unprocessed(database_url: str) -> int:
    sql = "SELECT count(*) FROM telephony_events WHERE processed_at IS NULL"
    return int(asyncio.run(_scalar(database_url, sql)))


def wait_processed(database_url: str, timeout: float = 300) -> float:
    """Seconds until the running server's processor has applied every inbox row."""
    began = time.perf_counter()
    while unprocessed(database_url) and time.perf_counter() - began < timeout:
        time.sleep(0.2)
    return time.perf_counter() - began


async def _lags(database_url: str, prefix: str) -> list[float]:
    engine = _engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT received_at, processed_at FROM telephony_events "
                    "WHERE dedupe_key LIKE :key AND processed_at IS NOT NULL"
                ),
                {"key": f"generic:{prefix}-%"},
            )
            lags = []
            for received, processed in rows:
                if isinstance(received, str):  # SQLite without the ORM type: ISO text
                    from datetime import datetime

                    received, processed = (
                        datetime.fromisoformat(received),
                        datetime.fromisoformat(processed),
                    )
                lags.append((processed - received).total_seconds())
            return sorted(lags)
    finally:
        await engine.dispose()


async def _drain(database_url: str) -> tuple[int, float]:
    from app.settings import load_settings
    from app.wiring import Container
    from telephony_webhooks.processor import InboxProcessor

    container = Container.build(load_settings(database_url=database_url, generic_token=TOKEN))
    try:
        processor = InboxProcessor(container.web_context())
        began = time.perf_counter()
        done = await processor.drain()
        return done, time.perf_counter() - began
    finally:
        await container.dispose()


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


# --- databases -----------------------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[str]:
    from core.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="pz_bench_") as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        upgrade(url)
        yield url


@contextmanager
def postgres_database(admin_dsn: str) -> Iterator[str]:
    from core.migrate import upgrade

    with throwaway_postgres(admin_dsn, f"pz_bench_{os.getpid()}") as url:
        upgrade(url)
        yield url


# --- the run -------------------------------------------------------------------------------------


def run(db: str, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"\n== {db} ==", flush=True)
    result: dict[str, Any] = {"db": db}
    warmup = 500
    # Accept path alone, against the bare app: alternate the two servers a few rounds and
    # compare medians, because one closed-loop run on 2 shared cores swings by 2x.
    bare_runs: list[dict[str, Any]] = []
    accept_only_runs: list[dict[str, Any]] = []
    for round_no in range(args.rounds):
        with server("bare", database_url) as url:
            load(url, "warm", warmup, concurrency=args.concurrency)
            bare_runs.append(load(url, "bare", args.count, concurrency=args.concurrency))
        print(f"bare     {_fmt(bare_runs[-1])}", flush=True)
        with server("perezvon", database_url, processor=False) as url:
            load(url, f"warm{round_no}", warmup, concurrency=args.concurrency)
            accept_only_runs.append(
                load(url, f"only{round_no}", args.count, concurrency=args.concurrency)
            )
        print(f"perezvon {_fmt(accept_only_runs[-1])}  (accept only: processor off)", flush=True)
    bare = _median_run(bare_runs)
    accept_only = _median_run(accept_only_runs)
    with server("perezvon", database_url) as url:
        load(url, "warm", warmup, concurrency=args.concurrency)
        wait_processed(database_url)
        accept = load(url, "acc", args.count, concurrency=args.concurrency)
        print(f"perezvon {_fmt(accept)}  (processor on)", flush=True)
        catch_up = wait_processed(database_url)
        print(f"         processor caught up {catch_up:.1f} s after the burst", flush=True)
        seconds = args.seconds
        lag_load = load(url, "lag", int(args.rate * seconds), concurrency=256, rate=args.rate)
        wait_processed(database_url)
        lags = asyncio.run(_lags(database_url, "lag"))
    print(f"lag load {_fmt(lag_load)}  (open loop {args.rate:.0f}/s for {seconds:.0f} s)")
    print(
        f"lag      n={len(lags)} p50={pct(lags, 0.5) * 1000:.0f} ms "
        f"p99={pct(lags, 0.99) * 1000:.0f} ms max={lags[-1] * 1000 if lags else 0:.0f} ms"
    )
    with server("perezvon", database_url, processor=False) as url:
        burst = load(url, "drain", args.backlog, concurrency=args.concurrency)
        print(f"backlog  {_fmt(burst)}  (processor off)", flush=True)
    done, elapsed = asyncio.run(_drain(database_url))
    drain_eps = done / elapsed if elapsed else 0.0
    print(f"drain    {done} events in {elapsed:.1f} s = {drain_eps:.0f} events/s", flush=True)
    ratio = accept["rps"] / bare["rps"] if bare["rps"] else 0.0
    result |= {
        "accept_only_rps": accept_only["rps"],
        "accept_only_ratio": accept_only["rps"] / bare["rps"] if bare["rps"] else 0.0,
        "bare_rps": bare["rps"],
        "bare_p50": bare["p50_ms"],
        "bare_p99": bare["p99_ms"],
        "rps": accept["rps"],
        "p50": accept["p50_ms"],
        "p99": accept["p99_ms"],
        "ratio": ratio,
        "lag_p50_s": pct(lags, 0.5),
        "lag_p99_s": pct(lags, 0.99),
        "drain_eps": drain_eps,
        "errors": {**accept["errors"], **lag_load["errors"], **burst["errors"]},
    }
    return result


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda figures: float(figures["rps"]))[len(runs) // 2]


def _fmt(figures: dict[str, Any]) -> str:
    errors = f" errors={figures['errors']}" if figures["errors"] else ""
    return (
        f"{figures['ok']:>6} ok in {figures['elapsed']:5.1f} s = {figures['rps']:7.0f} req/s  "
        f"p50 {figures['p50_ms']:6.1f} ms  p99 {figures['p99_ms']:6.1f} ms{errors}"
    )


def summary(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\nN={args.count}, {args.concurrency} connections; lag at {args.rate:.0f}/s")
    head = (
        f"{'db':9} {'bare r/s':>9} {'p50/p99 ms':>13} {'accept':>7} {'ratio':>6} "
        f"{'pz r/s':>8} {'p50/p99 ms':>13} {'ratio':>6} {'lag p99':>8} {'drain/s':>8}"
    )
    print(head)
    for r in results:
        print(
            f"{r['db']:9} {r['bare_rps']:9.0f} {r['bare_p50']:6.1f}/{r['bare_p99']:<6.1f} "
            f"{r['accept_only_rps']:7.0f} {r['accept_only_ratio']:6.2f} "
            f"{r['rps']:8.0f} {r['p50']:6.1f}/{r['p99']:<6.1f} {r['ratio']:6.2f} "
            f"{r['lag_p99_s']:7.2f}s {r['drain_eps']:8.0f}"
        )
    for r in results:
        checks = [
            (
                "accept ratio",
                r["accept_only_ratio"] >= TARGETS["ratio"],
                f">= {TARGETS['ratio']}",
            ),
            ("lag p99", r["lag_p99_s"] < TARGETS["lag_p99_s"], f"< {TARGETS['lag_p99_s']} s"),
            ("drain", r["drain_eps"] >= TARGETS["drain_eps"], f">= {TARGETS['drain_eps']:.0f}/s"),
        ]
        marks = ", ".join(f"{name} {want}: {'ok' if ok else 'MISSED'}" for name, ok, want in checks)
        print(f"{r['db']:9} {marks}" + (f"; errors {r['errors']}" if r["errors"] else ""))


def headline(db: str, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """`perezvon run` as deployed vs the bare app, Zadarma mix and NOTIFY_START (wrk)."""
    print(f"\n== {db}: perezvon run as deployed vs bare, wrk {args.wrk_connections} connections ==")
    figures = _deployed.headline(
        database_url,
        rounds=args.wrk_rounds,
        seconds=args.wrk_seconds,
        connections=args.wrk_connections,
        before=Path(args.before).resolve() if args.before else None,
        floors=args.floors,
    )
    return {"db": db, **figures}


def headline_summary(results: list[dict[str, Any]]) -> None:
    print("\nHeadline: perezvon run as deployed (processor on, access log default) vs bare")
    print(
        f"{'db':9} {'scenario':9} {'bare r/s':>9} {'run r/s':>9} {'ratio':>6} {'rounds':>18} target"
    )
    for r in results:
        for scenario, target in HEADLINE_TARGETS[r["db"]].items():
            f = r[scenario]
            rounds = " ".join(f"{x:.2f}" for x in f["round_ratios"])
            mark = "ok" if f["ratio"] >= target else "MISSED"
            print(
                f"{r['db']:9} {scenario:9} {f['bare']['rps']:9.0f} {f['deployed']['rps']:9.0f} "
                f"{f['ratio']:6.2f} {rounds:>18} >= {target}: {mark}"
            )
            for kind in _deployed.FLOORS:
                if kind in f:
                    label = {"lookup": "look-up", "insert": "INSERT", "floor": "both"}[kind]
                    print(
                        f"{'  floor':9} {label:9} {'':9} {f[kind]['rps']:9.0f} "
                        f"{f[kind]['ratio']:6.2f} {'':>18} (parse + signature + {label})"
                    )
            if "before" in f:
                b = f["before"]
                rounds = " ".join(f"{x:.2f}" for x in b["round_ratios"])
                print(
                    f"{'  before':9} {scenario:9} {'':9} {b['deployed']['rps']:9.0f} "
                    f"{b['ratio']:6.2f} {rounds:>18}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--count", type=int, default=20000, help="events per throughput run")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop rate for the lag")
    parser.add_argument("--seconds", type=float, default=20.0, help="open-loop duration")
    parser.add_argument("--backlog", type=int, default=10000, help="events for the drain")
    parser.add_argument("--rounds", type=int, default=3, help="bare/accept-only rounds")
    add_pg_admin_dsn(parser)
    parser.add_argument("--wrk-rounds", type=int, default=3, help="headline rounds")
    parser.add_argument("--wrk-seconds", type=float, default=5.0, help="headline wrk run")
    parser.add_argument("--wrk-connections", type=int, default=32)
    parser.add_argument(
        "--headline-only", action="store_true", help="only `perezvon run` vs bare (wrk)"
    )
    parser.add_argument(
        "--floors",
        action="store_true",
        help="also run the floor's steps in each headline round (the look-up, the INSERT, both)",
    )
    parser.add_argument(
        "--before",
        metavar="CHECKOUT",
        help="also run `perezvon run` from this checkout in each headline round (before/after)",
    )
    args = parser.parse_args()
    results = []
    headlines = []
    if args.db in ("sqlite", "both"):
        with sqlite_database() as url:
            headlines.append(headline("sqlite", url, args))
        if not args.headline_only:
            with sqlite_database() as url:
                results.append(run("sqlite", url, args))
    if args.db in ("postgres", "both"):
        with postgres_database(args.pg_admin_dsn) as url:
            headlines.append(headline("postgres", url, args))
        if not args.headline_only:
            with postgres_database(args.pg_admin_dsn) as url:
                results.append(run("postgres", url, args))
    headline_summary(headlines)
    if results:
        print("\nComponent figures: generic events, bench launcher (bench/_server.py)")
        summary(results, args)


if __name__ == "__main__":
    main()
