"""Bot benchmark: handler times, screen-pop latency and outbox delivery rate (prints figures).

    .venv/bin/python bench/bot.py                       # 100k contacts, 200 events/s for 20 s
    .venv/bin/python bench/bot.py --contacts 5000 --samples 50 --pop-seconds 5 --outbox 200

Everything runs in this process against the fake Bot API server of tests/fakes (loopback):
1. Seed a SQLite file (or `--database-url`) with `app.demo.seed`; the seeded employees get
   Telegram ids.
2. Handlers: p50/p95 of a search, a contact card and /today fed through the real dispatcher
   (each includes the bot's reply to the fake), next to the bare round trip of a sendMessage
   to the fake measured in the same run. Target: p95 less than 50 ms above the bare one.
3. Screen pop: the whole app under uvicorn (PBX webhooks, inbox processor, bot, outbox
   sender) gets generic PBX events at `--pop-rate` a second; a share of the calls ring a
   salesperson. Latency = the fake receiving the card - the ringing webhook's 200. Target:
   p99 < 1 s. Telegram allows about 30 messages a second per bot, so the share of calls that
   ring someone (each gives a card and a post-call prompt) is kept under the send rate.
4. Outbox: `--outbox` queued notifications to different chats; delivered per second as a
   share of PEREZVON_TELEGRAM_RATE (`--rate`). Target: >= 0.9.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from _common import (
    budget_wait,
    serve_on_loopback,
    start_load,
)  # bench/ is on sys.path as the script's folder
from _stats import pct  # bench/ is on sys.path as the script's folder
from sqlalchemy import func, select, text

from app import demo
from app.bot_component import BotComponent
from app.settings import Settings
from app.wiring import Container
from bot.delivery import OutboxSender
from bot.deps import BotDeps
from bot.dispatcher import build_dispatcher
from bot.runtime import create_bot
from core import migrate
from core.clock import SystemClock
from core.context import Ctx
from core.models import Contact, Notification, TelephonyEvent, User
from core.outbox import service as outbox
from tests.fakes.telegram_api import TOKEN, FakeTelegram

TG_BASE = 500_000_000
GENERIC = "bench-generic-token"
_ids = itertools.count(1)


def line(label: str, values: list[float], bare: float | None = None) -> str:
    ms = [v * 1000 for v in values]
    text_ = f"  {label:<14} p50 {pct(ms, 0.5):7.1f} ms  p95 {pct(ms, 0.95):7.1f} ms  n={len(ms)}"
    if bare is not None:
        text_ += f"  (p95 {pct(ms, 0.95) - bare * 1000:+.1f} ms vs bare)"
    return text_


async def prepare(args: argparse.Namespace) -> str:
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench_bot.db"
    migrate.upgrade_in_thread(url)
    container = Container.build(Settings(database_url=url))
    async with container.engine.connect() as conn:
        have = (await conn.execute(text("SELECT count(*) FROM contacts"))).scalar_one()
    if have < args.contacts:
        started = time.perf_counter()
        await demo.seed(container.engine, contacts=args.contacts - have, users=args.users)
        print(f"seeded {args.contacts - have} contacts in {time.perf_counter() - started:.0f} s")
    async with container.engine.begin() as conn:
        await conn.execute(
            text(f"UPDATE users SET telegram_user_id = {TG_BASE} + id, active = true")
        )
    await container.dispose()
    return url


def message(user_id: int, body: str) -> dict[str, Any]:
    sender = {"id": user_id, "is_bot": False, "first_name": "Bench", "language_code": "ru"}
    msg: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Bench"},
        "from": sender,
        "text": body,
    }
    if body.startswith("/"):
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(body.split()[0])}]
    return {"update_id": next(_ids), "message": msg}


def callback(user_id: int, data: str, message_id: int) -> dict[str, Any]:
    sender = {"id": user_id, "is_bot": False, "first_name": "Bench", "language_code": "ru"}
    chat = {"id": user_id, "type": "private", "first_name": "Bench"}
    msg = {"message_id": message_id, "date": int(time.time()), "chat": chat, "text": "card"}
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": str(next(_ids)),
            "from": sender,
            "chat_instance": "bench",
            "message": msg,
            "data": data,
        },
    }


async def handlers(args: argparse.Namespace, url: str, fake: FakeTelegram) -> None:
    container = Container.build(Settings(database_url=url, visibility="all"))
    deps = BotDeps(
        sessions=container.sessions,
        config=container.config,
        clock=SystemClock(),
        bot_username=fake.username,
    )
    dp = build_dispatcher(deps)
    bot = create_bot(token=TOKEN, api_url=fake.url)
    async with container.sessions() as session:
        manager = await session.scalar(select(User).order_by(User.id).limit(1))
        assert manager is not None
        manager.role = "manager"  # sees every contact: searches hit the whole table
        await session.commit()
        tg_id = int(manager.telegram_user_id or 0)
        sample = list(
            await session.scalars(
                select(Contact).where(Contact.deleted_at.is_(None)).order_by(Contact.id).limit(5000)
            )
        )
    rng = random.Random(7)
    picks = [rng.choice(sample) for _ in range(args.samples)]
    queries = [
        p.name.split()[-1].lower() if i % 2 else p.name.split()[0] for i, p in enumerate(picks)
    ]
    timings: dict[str, list[float]] = {"bare": [], "search": [], "card": [], "today": []}

    async def timed(name: str, call: Callable[[], Awaitable[Any]]) -> None:
        started = time.perf_counter()
        await call()
        timings[name].append(time.perf_counter() - started)

    await dp.feed_raw_update(bot, message(tg_id, "/start"))  # warm-up
    for i, pick in enumerate(picks):
        await timed("bare", lambda: bot.send_message(tg_id, "ping"))
        await timed("search", lambda q=queries[i]: dp.feed_raw_update(bot, message(tg_id, q)))
        data = f"c:open:{pick.id}:0"
        await timed("card", lambda d=data: dp.feed_raw_update(bot, callback(tg_id, d, 1)))
        await timed("today", lambda: dp.feed_raw_update(bot, message(tg_id, "/today")))
    bare = pct(timings["bare"], 0.95)
    print(f"handlers ({args.contacts} contacts, each includes the reply to the fake):")
    print(line("bare sendMessage", timings["bare"]))
    for name in ("search", "card", "today"):
        print(line(name, timings[name], bare))
    await bot.session.close()
    await container.dispose()


async def screen_pop(args: argparse.Namespace, url: str, fake: FakeTelegram) -> None:
    settings = Settings(
        database_url=url,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake.url,
        telegram_rate=args.rate,
        generic_token=GENERIC,  # type: ignore[arg-type]
        log_level="WARNING",
    )
    container = Container.build(settings)
    async with container.sessions() as session:
        rows = (await session.execute(text("SELECT user_id, extension FROM user_extensions"))).all()
    extensions = [str(r[1]) for r in rows]
    if not extensions:
        print("screen pop: no seeded extension, skipped")
        return
    bot = BotComponent(container)
    app = container.http_app([bot], freeze_heap=True)  # as `perezvon run` does (app/heap.py)
    server, sock, serving = await serve_on_loopback(app, bot)
    # The PBX is another process (as it is in life): this event loop serves, it does not load.
    load = await start_load(
        __file__,
        sock,
        "--pop-rate",
        str(args.pop_rate),
        "--pop-seconds",
        str(args.pop_seconds),
        "--pop-share",
        str(args.pop_share),
        "--extensions",
        ",".join(extensions),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await load.communicate()
    report = json.loads(out.decode().strip().splitlines()[-1])
    wall = time.time() - time.monotonic()
    calls, errors, elapsed = report["calls"], report["errors"], report["elapsed"]
    events_per_call = 4
    await asyncio.sleep(3.0)  # let the last prompts go out
    # When the server received each ringing and end webhook (the inbox's received_at, stamped
    # before the durable store and the 200), on this process' monotonic clock: phone -> time.
    # The load process' own clock would start later, when its busy loop reads the 200.
    received: dict[tuple[str, str], float] = {}
    async with container.sessions() as session:
        rows = await session.execute(
            select(TelephonyEvent.call_key, TelephonyEvent.event_type, TelephonyEvent.received_at)
        )
        for call_key, event_type, at in rows:
            received[(str(call_key), str(event_type))] = at.timestamp() - wall
    ringing_calls: dict[str, str] = report["ringing_calls"]  # phone -> call id
    # A webhook that was not stored (counted in `errors`) has no receipt: its call is left out.
    accepted = {
        p: received[(c, "ringing")] for p, c in ringing_calls.items() if (c, "ringing") in received
    }
    ended = {p: received[(c, "end")] for p, c in ringing_calls.items() if (c, "end") in received}
    cards: dict[str, Any] = {}  # phone -> the first card for it at the fake
    for call in fake.sent("sendMessage"):
        found = re.search(r"tel:(\+\d+)", call.text or "")
        if found and found.group(1) not in cards:
            cards[found.group(1)] = call
    latencies = [cards[p].at - accepted[p] for p in accepted if p in cards]
    # Where the time goes: accepted -> notification committed (the inbox processor), then
    # committed -> at the fake (the outbox sender).
    async with container.sessions() as session:
        queued = {
            str(n.payload.get("phone")): n.created_at.timestamp()
            for n in await session.scalars(
                select(Notification).where(Notification.kind == "incoming_call")
            )
        }
        prompts_queued = {
            str(n.payload.get("phone")): n.created_at.timestamp()
            for n in await session.scalars(
                select(Notification).where(Notification.kind == "post_call")
            )
        }
        edits = await session.scalar(select(func.count()).where(Notification.kind == "call_update"))
    server.should_exit = True
    await serving
    sock.close()
    processing = [queued[p] - (accepted[p] + wall) for p in accepted if p in queued]
    sending = [cards[p].at + wall - queued[p] for p in accepted if p in queued and p in cards]
    sent = len(fake.sent("sendMessage"))
    edited = len(fake.sent("editMessageText"))
    print(
        f"screen pop: {calls * events_per_call} events at {args.pop_rate:.0f}/s over "
        f"{elapsed:.1f} s, {len(accepted)} calls rang a salesperson, "
        f"{sent} messages and {edited} edits sent ({edits} edits queued; limit "
        f"{args.rate:.0f}/s), {errors} non-200"
    )
    ms = [x * 1000 for x in latencies]
    print(
        f"  ringing webhook received -> card at the fake: p50 {pct(ms, 0.5):.0f} ms, "
        f"p99 {pct(ms, 0.99):.0f} ms, max {max(ms or [0]):.0f} ms "
        f"({len(ms)}/{len(accepted)} cards matched)"
    )
    for label, values in (("  of which processing", processing), ("  of which sending", sending)):
        ms = [x * 1000 for x in values]
        print(f"{label}: p50 {pct(ms, 0.5):.0f} ms, p99 {pct(ms, 0.99):.0f} ms")
    # The floor Telegram sets: a chat takes about one message a second (the outbox: a burst of
    # 3, then one a second). A card for a salesperson rung several times within seconds waits
    # for that budget, whatever the sender does; what is left is what Perezvon itself adds.
    report_budget_share(
        "cards",
        fake,
        [(cards[p], accepted[p], queued[p] - wall) for p in accepted if p in cards and p in queued],
    )
    # The post-call prompt: the end webhook's 200 -> the prompt (outcome buttons) at the fake.
    prompt_calls: dict[str, Any] = {}  # phone -> the first prompt for it at the fake
    for call in fake.sent("sendMessage"):
        if '"k:out:' not in json.dumps(call.params.get("reply_markup") or ""):
            continue
        # The number as the prompt writes it ("+7 999 325-00-30"), spaces and dashes dropped.
        digits = re.sub(r"[\s\-()\u00a0]", "", call.text or "")
        for phone in ended:
            if phone in digits and phone not in prompt_calls:
                prompt_calls[phone] = call
    prompts = {p: call.at - ended[p] for p, call in prompt_calls.items()}
    prompt_at = {p: call.at + wall for p, call in prompt_calls.items()}
    ms = [x * 1000 for x in prompts.values()]
    print(
        f"  end webhook received -> post-call prompt at the fake: p50 {pct(ms, 0.5):.0f} ms, "
        f"p99 {pct(ms, 0.99):.0f} ms, max {max(ms or [0]):.0f} ms "
        f"({len(ms)}/{len(ended)} prompts matched)"
    )
    # Where the prompt's time goes: the end webhook received -> the prompt committed, then
    # committed -> at the fake.
    matched = [p for p in prompt_at if p in prompts_queued]
    split = (
        ("  of which processing", [prompts_queued[p] - (ended[p] + wall) for p in matched]),
        ("  of which sending", [prompt_at[p] - prompts_queued[p] for p in matched]),
    )
    for label, values in split:
        ms = [x * 1000 for x in values]
        print(f"{label}: p50 {pct(ms, 0.5):.0f} ms, p99 {pct(ms, 0.99):.0f} ms")
    report_budget_share(
        "prompts",
        fake,
        [
            (prompt_calls[p], ended[p], prompts_queued[p] - wall)
            for p in matched
            if p in prompt_calls
        ],
    )


def report_budget_share(
    what: str, fake: FakeTelegram, sent: list[tuple[Any, float, float]]
) -> None:
    """Each (call at the fake, webhook received, queued), monotonic: the wait the chat's budget
    imposed (budget_wait) apart from the rest of the latency."""
    waits = [budget_wait(fake, call, queued) for call, _received, queued in sent]
    rest = [
        (call.at - received - wait) * 1000
        for (call, received, _q), wait in zip(sent, waits, strict=True)
    ]
    bound = sum(1 for wait in waits if wait > 0.001)
    print(
        f"  {what} that waited for their chat's Telegram budget: {bound} of {len(sent)}, "
        f"up to {max(waits or [0]) * 1000:.0f} ms; latency without that wait: "
        f"p50 {pct(rest, 0.5):.0f} ms, p99 {pct(rest, 0.99):.0f} ms"
    )


async def pbx_load(args: argparse.Namespace) -> None:
    """The load process: calls of 4 events on an open-loop schedule; prints one JSON line."""
    extensions = args.extensions.split(",")
    events_per_call = 4
    calls = int(args.pop_rate * args.pop_seconds / events_per_call)
    every = max(1, round(1 / max(args.pop_share, 1e-9)))
    rng = random.Random(3)
    stamp = int(time.time())
    ringing_calls: dict[str, str] = {}
    errors = 0

    async def post(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
        nonlocal errors
        try:
            response = await http.post("/webhooks/generic", json=body)
            errors += response.status_code != 200
        except httpx.HTTPError:
            errors += 1

    async def one_call(http: httpx.AsyncClient, n: int) -> None:
        phone = f"+7999{stamp % 1000:03d}{n:04d}"
        rings = n % every == 0
        ext = rng.choice(extensions) if rings else "999"
        base = {"call_id": f"bench-{stamp}-{n}", "direction": "in", "from": phone}
        base |= {"did": "74950000001", "timestamp": int(time.time())}
        await post(http, base | {"event": "start"})
        await post(http, base | {"event": "ringing", "extension": ext})
        if rings:
            ringing_calls[phone] = base["call_id"]
        await asyncio.sleep(1.0)
        await post(http, base | {"event": "answer", "extension": ext})
        await asyncio.sleep(2.0)
        await post(http, base | {"event": "end", "extension": ext, "billsec": 2})

    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=args.load_url,
        headers={"x-perezvon-token": GENERIC},
        limits=httpx.Limits(max_connections=64),
        timeout=30,
    ) as http:
        tasks = []
        for n in range(calls):
            # Open loop: a call starts every events_per_call / rate seconds, on schedule.
            due = started + n * events_per_call / args.pop_rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(one_call(http, n)))
        await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    report = {"ringing_calls": ringing_calls, "calls": calls, "errors": errors}
    print(json.dumps(report | {"elapsed": elapsed}))


async def delivery_rate(args: argparse.Namespace, url: str, fake: FakeTelegram) -> None:
    container = Container.build(Settings(database_url=url))
    deps = BotDeps(sessions=container.sessions, config=container.config, clock=SystemClock())
    async with container.sessions() as session:
        ctx = Ctx(session=session, config=container.config, clock=deps.clock)
        stamp = time.time_ns()
        for n in range(args.outbox):
            await outbox.enqueue(
                ctx,
                kind="greeting",
                dedupe_key=f"bench:{stamp}:{n}",
                payload={"text": f"С днём рождения! #{n}"},
                chat_id=TG_BASE * 2 + n,
            )
        await session.commit()
    bot = create_bot(token=TOKEN, api_url=fake.url)
    sender = OutboxSender(bot, deps, rate=args.rate)
    before = len(fake.sent("sendMessage"))
    await sender.start()
    await fake.wait_for(
        "sendMessage", before + args.outbox, within=args.outbox / args.rate * 3 + 30
    )
    await sender.stop()
    calls = fake.sent("sendMessage")[before:]
    spread = calls[-1].at - calls[0].at
    achieved = (len(calls) - 1) / spread if spread > 0 else float("inf")
    print(
        f"outbox: {len(calls)} messages in {spread:.1f} s = {achieved:.1f}/s, "
        f"{achieved / args.rate:.2f} of the configured {args.rate:.0f}/s"
    )
    await bot.session.close()
    await container.dispose()


async def main(args: argparse.Namespace) -> None:
    if args.load_url:
        await pbx_load(args)
        return
    url = await prepare(args)
    fake = FakeTelegram()
    await fake.start()
    try:
        if "handlers" in args.parts:
            await handlers(args, url, fake)
        if "pop" in args.parts:
            fake.calls.clear()
            await screen_pop(args, url, fake)
        if "outbox" in args.parts:
            await delivery_rate(args, url, fake)
    finally:
        await fake.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=100, help="salespeople with Telegram")
    parser.add_argument("--database-url", help="reuse this database (default: a temp SQLite)")
    parser.add_argument("--samples", type=int, default=200, help="updates per handler")
    parser.add_argument("--pop-rate", type=float, default=200.0, help="PBX events a second")
    parser.add_argument("--pop-seconds", type=float, default=20.0)
    parser.add_argument("--pop-share", type=float, default=0.2, help="calls ringing someone")
    parser.add_argument("--outbox", type=int, default=500)
    parser.add_argument("--rate", type=float, default=25.0, help="PEREZVON_TELEGRAM_RATE")
    parser.add_argument("--parts", default="handlers,pop,outbox")
    parser.add_argument("--load-url", help=argparse.SUPPRESS)  # the PBX load process
    parser.add_argument("--extensions", default="", help=argparse.SUPPRESS)
    asyncio.run(main(parser.parse_args()))
