"""The headline of bench/webhooks.py: `perezvon run` as deployed vs a bare FastAPI app, under wrk.

Scenarios (Zadarma, form-encoded and signed as Zadarma signs them):

- `mix`: calls of NOTIFY_START / NOTIFY_ANSWER / NOTIFY_END in turn; the START answer carries
  the caller's name, so a third of the requests look the caller up;
- `start`: NOTIFY_START alone (every request a look-up).

The Zadarma signature covers caller, DID and call start, not the call id, so a few hundred
pre-signed (caller, start) pairs are written into the wrk Lua script and each request gets a
fresh `pbx_call_id` (a counter per wrk thread): every event is new to the inbox. The callers
are seeded as contacts with owners first, so START look-ups find someone.

Rounds alternate the two servers (bare, deployed, bare, deployed, …) and the medians are
compared: the machine is shared, and a single run swings by 2x.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-zadarma-secret"
DID = "74951234567"
CALL_START = "2024-03-05 14:30:00"
CALLERS = 500


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def caller(index: int) -> str:
    return f"7916{index:07d}"


def signature(caller_id: str) -> str:
    message = (caller_id + DID + CALL_START).encode()
    digest = hmac.new(SECRET.encode(), message, hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


# The floor's steps between the bare app and `perezvon run` (bench/_server.py floor_app): the
# form parse and signature check each has, plus the caller look-up, the durable INSERT, both.
FLOORS = {"lookup": "lookup", "insert": "insert", "floor": "insert,lookup"}


def lua_script(scenario: str, prefix: str) -> str:
    """The wrk script: a signed Zadarma event per request, a fresh call id each call."""
    pairs = ",\n".join(f'{{"{caller(i)}", "{signature(caller(i))}"}}' for i in range(CALLERS))
    events = '{"START"}' if scenario == "start" else '{"START", "ANSWER", "END"}'
    start = CALL_START.replace(" ", "+").replace(":", "%3A")
    return f"""
local callers = {{
{pairs}
}}
local events = {events}
local counter = 0
local thread_id = 0
local nthreads = 0
local threads_seen = 0

function setup(thread)
  threads_seen = threads_seen + 1
  thread:set("tid", threads_seen)
end

function init(args)
  thread_id = tid
end

function request()
  local step = counter % #events
  local call = math.floor(counter / #events)
  counter = counter + 1
  local who = callers[(call % #callers) + 1]
  local head = "call_start={start}&pbx_call_id={prefix}-" .. thread_id .. "-" .. call
    .. "&caller_id=" .. who[1]
  local body
  local event = events[step + 1]
  if event == "START" then
    body = "event=NOTIFY_START&" .. head .. "&called_did={DID}"
  elseif event == "ANSWER" then
    body = "event=NOTIFY_ANSWER&" .. head .. "&internal=101&destination={DID}&calltype=normal"
  else
    body = "event=NOTIFY_END&" .. head .. "&called_did={DID}&internal=101&last_internal=101"
      .. "&duration=95&status_code=16&is_recorded=0&calltype=normal&disposition=answered"
  end
  return wrk.format("POST", "/webhooks/zadarma", {{
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Signature"] = who[2],
  }}, body)
end
"""


def run_wrk(
    url: str, script: Path, *, seconds: float, connections: int, threads: int = 2
) -> dict[str, Any]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s", "--latency"]
    command += ["-s", str(script), url]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)

    def pct(name: str) -> float:
        found = re.search(rf"^\s+{name}%\s+([\d.]+)(us|ms|s)", out, re.MULTILINE)
        if not found:
            return float("nan")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found[2]]
        return float(found[1]) * scale

    return {
        "rps": rps,
        "p50_ms": pct("50"),
        "p99_ms": pct("99"),
        "non_2xx": int(bad[1]) if bad else 0,
        "socket_errors": errors[0] if errors else "",
    }


@contextmanager
def deployed(database_url: str, port: int, root: Path = ROOT) -> Iterator[str]:
    """`perezvon run` exactly as a user starts it (settings from the environment, defaults),
    from the checkout at `root` (another one: `--before`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEREZVON_")}
    env |= {"PEREZVON_DATABASE_URL": database_url, "PEREZVON_ZADARMA_SECRET": SECRET}
    with tempfile.TemporaryDirectory(prefix="pz_run_") as cwd:  # no .env of the checkout
        command = [sys.executable, "-m", "app.cli", "run", "--port", str(port)]
        env["PYTHONPATH"] = str(root)
        proc = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            yield wait_up(f"http://127.0.0.1:{port}", proc)
        finally:
            stop(proc)


@contextmanager
def bare(port: int) -> Iterator[str]:
    command = [sys.executable, str(ROOT / "bench" / "_server.py"), "bare", "--port", str(port)]
    proc = subprocess.Popen(command, cwd=ROOT)
    try:
        yield wait_up(f"http://127.0.0.1:{port}", proc)
    finally:
        stop(proc)


@contextmanager
def floor(database_url: str, port: int, parts: str) -> Iterator[str]:
    """bench/_server.py's floor app (`parts`: "insert", "lookup" or "insert,lookup")."""
    env = {**os.environ, "PEREZVON_DATABASE_URL": database_url, "PEREZVON_ZADARMA_SECRET": SECRET}
    command = [sys.executable, str(ROOT / "bench" / "_server.py"), "floor", "--port", str(port)]
    proc = subprocess.Popen([*command, "--parts", parts], cwd=ROOT, env=env)
    try:
        yield wait_up(f"http://127.0.0.1:{port}", proc)
    finally:
        stop(proc)


def wait_up(url: str, proc: subprocess.Popen[Any]) -> str:
    """The URL once the server at it answers /healthz (RuntimeError if it exits or 60 s pass)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).read()
            return url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server at {url} did not start") from None
            time.sleep(0.1)


def stop(proc: subprocess.Popen[Any]) -> None:
    """Terminate the server process, and kill it if it has not exited after 20 s."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def seed_callers(database_url: str) -> None:
    """Every caller of the scripts is a contact owned by a salesperson with an extension."""
    from core.contacts import service as contacts
    from core.context import Actor, Ctx
    from core.db import create_engine, session_factory, session_scope
    from core.users import service as users

    engine = create_engine(database_url)
    system = Actor.system("bench")
    try:
        async with session_scope(session_factory(engine)) as session:
            owner = await users.create_user(
                Ctx.of(session), actor=system, name="Анна", role="sales", extensions=["101"]
            )
            owner_id = owner.id
        for index in range(CALLERS):
            async with session_scope(session_factory(engine)) as session:
                await contacts.create_contact(
                    Ctx.of(session),
                    actor=system,
                    name=f"Клиент {index}",
                    phones=["+" + caller(index)],
                    owner_id=owner_id,
                )
    finally:
        await engine.dispose()


def headline(
    database_url: str,
    *,
    rounds: int,
    seconds: float,
    connections: int,
    before: Path | None = None,
    floors: bool = False,
) -> dict[str, Any]:
    """Alternating rounds of bare and deployed, per scenario; medians and their ratio.

    With `before` (another checkout, e.g. `git worktree add /tmp/before main`), each round
    also runs `perezvon run` from there, between the bare app and this tree: before and
    after measured interleaved in the same window, each against the same bare rounds."""
    import asyncio

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    asyncio.run(seed_callers(database_url))
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pz_wrk_") as folder:
        for scenario in ("mix", "start"):
            kinds = ("bare", *FLOORS, "before", "deployed")
            kinds = tuple(
                k for k in kinds if (k != "before" or before) and (k not in FLOORS or floors)
            )
            runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
            for round_no in range(rounds):
                for kind in kinds:
                    script = Path(folder) / f"{scenario}-{kind}-{round_no}.lua"
                    script.write_text(lua_script(scenario, f"{scenario}{round_no}{kind[:2]}"))
                    port = free_port()
                    if kind == "bare":
                        server = bare(port)
                    elif kind in FLOORS:
                        server = floor(database_url, port, FLOORS[kind])
                    else:
                        server = deployed(database_url, port, before if kind == "before" else ROOT)
                    with server as url:
                        warm = Path(folder) / f"warm-{scenario}-{kind}-{round_no}.lua"
                        warm.write_text(lua_script(scenario, f"w{scenario}{round_no}{kind[:2]}"))
                        run_wrk(url, warm, seconds=1, connections=connections)
                        result = run_wrk(url, script, seconds=seconds, connections=connections)
                        if kind in ("before", "deployed"):  # the next starts with an empty inbox
                            result["settled_s"] = wait_applied(database_url)
                    runs[kind].append(result)
                    print(f"{scenario:5} {kind:8} round {round_no + 1}: {_fmt(result)}", flush=True)
            medians = {k: sorted(v, key=lambda r: r["rps"])[len(v) // 2] for k, v in runs.items()}
            ratios = [
                d["rps"] / b["rps"] for b, d in zip(runs["bare"], runs["deployed"], strict=True)
            ]
            figures[scenario] = {
                "bare": medians["bare"],
                "deployed": medians["deployed"],
                "ratio": medians["deployed"]["rps"] / medians["bare"]["rps"],
                "round_ratios": ratios,
            }
            for kind in FLOORS:
                if kind in runs:
                    figures[scenario][kind] = {
                        **medians[kind],
                        "ratio": medians[kind]["rps"] / medians["bare"]["rps"],
                    }
            if before:
                figures[scenario]["before"] = {
                    "deployed": medians["before"],
                    "ratio": medians["before"]["rps"] / medians["bare"]["rps"],
                    "round_ratios": [
                        d["rps"] / b["rps"]
                        for b, d in zip(runs["bare"], runs["before"], strict=True)
                    ],
                }
    return figures


def wait_applied(database_url: str, timeout: float = 120.0) -> float:
    """Seconds until the running server's processor has applied every inbox row: a round
    leaves no backlog for the next server to spend its round on."""
    import asyncio

    from sqlalchemy import text

    from core.db import create_engine

    async def waiting() -> int:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                sql = "SELECT count(*) FROM telephony_events WHERE processed_at IS NULL"
                return int((await conn.execute(text(sql))).scalar_one())
        finally:
            await engine.dispose()

    began = time.monotonic()
    while asyncio.run(waiting()) and time.monotonic() - began < timeout:
        time.sleep(0.5)
    return time.monotonic() - began


def _fmt(result: dict[str, Any]) -> str:
    extra = f" non-2xx={result['non_2xx']}" if result["non_2xx"] else ""
    extra += f" {result['socket_errors']}" if result["socket_errors"] else ""
    extra += f"  (inbox applied {result['settled_s']:.1f} s later)" if "settled_s" in result else ""
    return (
        f"{result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
        f"p99 {result['p99_ms']:6.2f} ms{extra}"
    )
