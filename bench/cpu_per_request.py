"""CPU per webhook request of `perezvon run` (and of its PostgreSQL backends) under wrk.

On a machine shared with other work, req/s swing by 3x from one round to the next; the CPU
a request costs does not. For each kind, in turn and `--rounds` times: start it, warm it up
with wrk for 1 s, load it `--seconds` with wrk (2 threads, 32 connections, bench/_deployed.py's
Zadarma script), and read the CPU time of the server process and, for a PostgreSQL server of
this machine whose data directory is given (`--pg-data`), of its backends. Each kind runs
against the same database, which must be migrated and seeded (bench/_deployed.seed_callers).

Kinds: `bare` (bench/_server.py's bare app), a checkout path (`perezvon run` from there, as
deployed), `noproc:PATH` (the accept path alone: bench/_server.py with the processor off),
`floor:PARTS` (bench/_server.py's floor app: the bare app plus the form parse and signature
check, and with PARTS `insert`, `lookup` or `insert+lookup` the group-committed INSERT and
the caller look-up, nothing else).

    python bench/cpu_per_request.py --url sqlite+aiosqlite:////tmp/pz.db --seed \
        --kinds bare,/tmp/before,. --scenario start --rounds 2 --settle
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _deployed as d


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backends_cpu(pg_data: str | None) -> dict[int, float]:
    if not pg_data:
        return {}
    with open(Path(pg_data) / "postmaster.pid") as pidfile:
        postmaster = int(pidfile.readline())
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True)
    pids = [postmaster, *map(int, children.stdout.split())]
    return {pid: cpu_seconds(pid) for pid in pids}


@contextmanager
def accept_only(url: str, port: int, root: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEREZVON_")}
    env |= {"PEREZVON_DATABASE_URL": url, "PEREZVON_ZADARMA_SECRET": d.SECRET}
    env["PYTHONPATH"] = str(root)
    command = [sys.executable, str(root / "bench" / "_server.py"), "perezvon"]
    command += ["--port", str(port), "--no-processor"]
    proc = subprocess.Popen(
        command, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield d.wait_up(f"http://127.0.0.1:{port}", proc)
    finally:
        d.stop(proc)


def server(kind: str, url: str, port: int) -> AbstractContextManager[str]:
    if kind == "bare":
        return d.bare(port)
    if kind.startswith("floor:"):
        return d.floor(url, port, kind[len("floor:") :].replace("+", ","))
    if kind.startswith("noproc:"):
        return accept_only(url, port, Path(kind[len("noproc:") :]).resolve())
    return d.deployed(url, port, Path(kind).resolve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="a migrated database (SQLAlchemy URL)")
    parser.add_argument("--seed", action="store_true", help="migrate and seed the callers first")
    parser.add_argument("--kinds", default="bare,.")
    parser.add_argument("--scenario", choices=("mix", "start"), default="start")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pg-data", help="data directory of the local PostgreSQL server")
    parser.add_argument(
        "--settle", action="store_true", help="after each run, wait for its inbox to be applied"
    )
    args = parser.parse_args()
    if args.seed:
        from core.migrate import upgrade

        upgrade(args.url)
        asyncio.run(d.seed_callers(args.url))
    folder = Path(tempfile.mkdtemp(prefix="pz_cpu_"))
    for round_no in range(args.rounds):
        for kind in args.kinds.split(","):
            port = d.free_port()
            script, warm = folder / "run.lua", folder / "warm.lua"
            script.write_text(d.lua_script(args.scenario, f"c{round_no}-{time.time_ns()}"))
            warm.write_text(d.lua_script(args.scenario, f"w{round_no}-{time.time_ns()}"))
            with server(kind, args.url, port) as url:
                found = subprocess.run(
                    ["pgrep", "-f", "--", f"--port {port}"], capture_output=True, text=True
                )
                pid = int(found.stdout.split()[0])
                d.run_wrk(url, warm, seconds=1, connections=32)
                app0, pg0 = cpu_seconds(pid), backends_cpu(args.pg_data)
                wrk0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                began = time.monotonic()
                result = d.run_wrk(url, script, seconds=args.seconds, connections=32)
                elapsed = time.monotonic() - began
                app1, pg1 = cpu_seconds(pid), backends_cpu(args.pg_data)
                wrk1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                settles = args.settle and kind != "bare" and not kind.startswith("floor:")
                settled = d.wait_applied(args.url) if settles else 0.0
            requests = max(result["rps"] * elapsed, 1.0)
            pg = sum(cpu - pg0.get(p, 0.0) for p, cpu in pg1.items())
            wrk = (wrk1.ru_utime + wrk1.ru_stime) - (wrk0.ru_utime + wrk0.ru_stime)
            print(
                f"round {round_no + 1} {kind[-20:]:>20} {args.scenario:5} "
                f"{result['rps']:7.0f} req/s  p50 {result['p50_ms']:6.1f} ms  "
                f"server {(app1 - app0) / requests * 1e6:5.0f} us/req  "
                f"postgres {pg / requests * 1e6:4.0f} us/req  "
                f"wrk {wrk / requests * 1e6:4.0f} us/req"
                f"  load {os.getloadavg()[0]:4.1f}"
                + (f"  inbox applied {settled:.1f} s later" if settles else ""),
                flush=True,
            )


if __name__ == "__main__":
    main()
