"""Load generator for bench/webhooks.py, run as its own process (prints one JSON line).

    python bench/_load.py --url http://127.0.0.1:8123 --token T --prefix run1 \
        --count 20000 --concurrency 64                 # closed loop: as fast as it answers
    python bench/_load.py ... --count 4000 --rate 200  # open loop: 200 requests/s on schedule

Each request is a signed `POST /webhooks/generic` event with its own dedupe key: calls of
four events each (start, ringing, answer, end), call ids `<prefix>-<n>`. aiohttp on uvloop,
one connection pool of `--concurrency` keep-alive connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp

EVENTS = ("start", "ringing", "answer", "end")


def body(prefix: str, index: int) -> bytes:
    call, step = divmod(index, len(EVENTS))
    event = {
        "event": EVENTS[step],
        "call_id": f"{prefix}-{call}",
        "direction": "in",
        "from": f"+7916{call % 10_000_000:07d}",
        "to": "101",
        "did": "+74951234567",
        "extension": "101",
    }
    if step == 3:
        event |= {"status": "answered", "duration": 107, "billsec": 95}
    return json.dumps(event).encode()


async def run(args: argparse.Namespace) -> dict[str, object]:
    headers = {"x-perezvon-token": args.token, "content-type": "application/json"}
    url = args.url.rstrip("/") + "/webhooks/generic"
    latencies: list[float] = []
    errors: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=args.concurrency, force_close=False)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as http:

        async def one(index: int) -> None:
            started = time.perf_counter()
            try:
                async with http.post(url, data=body(args.prefix, index), headers=headers) as r:
                    await r.read()
                    status = r.status
            except Exception as exc:  # counted, not fatal: the figures say how many failed
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            if status != 200:
                errors[str(status)] = errors.get(str(status), 0) + 1
                return
            latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        if args.rate:
            tasks = []
            for index in range(args.count):
                delay = began + index / args.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(index)))
            await asyncio.gather(*tasks)
        else:
            queue = iter(range(args.count))

            async def worker() -> None:
                for index in queue:
                    await one(index)

            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "ok": len(latencies),
        "errors": errors,
        "elapsed": elapsed,
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=0.0, help="open loop: requests per second")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
