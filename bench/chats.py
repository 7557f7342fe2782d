"""Client chats benchmark: relay and answer latency through the fake Bot API, across a restart.

    .venv/bin/python bench/chats.py                       # 200 clients, 20 msg/s, 60 s
    .venv/bin/python bench/chats.py --seconds 10          # a short check
    .venv/bin/python bench/chats.py --database-url postgresql+asyncpg://…/db
    .venv/bin/python bench/chats.py business --db both   # Business messages logged a second

`business` runs bench/chats_business.py with the arguments after it (its own --help): the
Telegram Business logging rate on SQLite and PostgreSQL, as `perezvon run` serves it.

Everything runs in this process against the fake Bot API server of tests/fakes (loopback):
1. A fresh SQLite file (or `--database-url`, migrated) with `--salespeople` active
   salespeople with Telegram ids (one with an extension, for the screen pops);
   CLIENT_ROUTING=round-robin.
2. The bot as deployed (app.bot_component: long polling against the fake, the outbox sender,
   commits waking it) runs here.
3. `--clients` Telegram users write `--rate` messages a second in all, on an open-loop
   schedule, pushed into the fake as updates. Each salesperson answers by replying to
   `--reply-share` of the relays they get, as soon as a relay arrives.
4. Meanwhile a call rings the salesperson with the extension every `1/--pops` s (through
   core.calls.service, as the PBX inbox does): its screen pop must still go first.
5. Half-way the bot is stopped (gracefully, as on SIGTERM) and a new one started.
6. Figures: client message pushed -> relayed message at the fake, and reply pushed -> copy at
   the client (p50/p99, also without the seconds around the restart); screen pop committed ->
   at the fake; relays and replies lost or sent twice. Target: p99 < 1 s each, none lost or
   twice, pops first.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import add_salespeople, budget_wait  # bench/ is on sys.path as the script's folder
from _stats import pct  # bench/ is on sys.path as the script's folder
from sqlalchemy import select

from app.bot_component import BotComponent
from app.heap import freeze_startup_heap
from app.settings import Settings
from app.wiring import Container
from core import migrate
from core.calls import service as calls
from core.clock import SystemClock
from core.context import Ctx
from core.events import CallEvent
from core.models import ChatMessage, Notification
from tests.fakes.telegram_api import TOKEN, FakeTelegram

STAFF_BASE = 600_000_000
CLIENT_BASE = 900_000_000
MARK = re.compile(r"\b([mr])(\d+)\b")
_update_ids = itertools.count(1)


def figures(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"  {label:<34} p50 {pct(ms, 0.5):6.0f} ms  p99 {pct(ms, 0.99):6.0f} ms  "
        f"max {max(ms or [0]):6.0f} ms  n={len(ms)}"
    )


@dataclass
class Run:
    """What the load sent and what the fake saw, on this process' monotonic clock."""

    pushed: dict[int, float] = field(default_factory=dict)  # client message n -> pushed at
    relayed: dict[int, float] = field(default_factory=dict)  # n -> first relay at the fake
    relay_copies: dict[int, int] = field(default_factory=dict)  # n -> relays seen
    replied: dict[int, float] = field(default_factory=dict)  # reply n -> pushed at
    delivered: dict[int, float] = field(default_factory=dict)  # reply n -> at the client
    reply_copies: dict[int, int] = field(default_factory=dict)
    staff_messages: dict[tuple[int, int], int] = field(default_factory=dict)  # -> reply n
    pops_queued: dict[int, float] = field(default_factory=dict)  # call number -> committed
    pops_seen: dict[int, float] = field(default_factory=dict)
    restart: tuple[float, float] = (0.0, 0.0)
    queued: dict[int, float] = field(default_factory=dict)  # n -> relay queued (monotonic)
    relay_call: dict[int, Any] = field(default_factory=dict)  # n -> first relay at the fake
    relay_messages: int = 0  # staff messages that showed client messages (grouped: fewer)


def client_update(client: int, message_id: int, body: str) -> dict[str, Any]:
    user = {"id": client, "is_bot": False, "first_name": f"Клиент{client % 1000}"}
    message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": client, "type": "private", "first_name": user["first_name"]},
        "from": {**user, "language_code": "ru"},
        "text": body,
    }
    return {"update_id": next(_update_ids), "message": message}


def reply_update(
    staff: int, message_id: int, to: int, body: str, markup: Any = None, quote: str | None = None
) -> dict[str, Any]:
    user = {"id": staff, "is_bot": False, "first_name": "Sales", "language_code": "ru"}
    replied = {
        "message_id": to,
        "date": int(time.time()),
        "chat": {"id": staff, "type": "private", "first_name": "Sales"},
        "from": {"id": 123456, "is_bot": True, "first_name": "Bot"},
        "text": "relay",
    }
    if isinstance(markup, dict):  # Telegram includes the replied message's buttons
        replied["reply_markup"] = markup
    message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": staff, "type": "private", "first_name": "Sales"},
        "from": user,
        "text": body,
        "reply_to_message": replied,
    }
    if quote is not None:  # the salesperson selected the client's words in a grouped relay
        message["quote"] = {"text": quote, "position": 0, "is_manual": True}
    return {"update_id": next(_update_ids), "message": message}


async def prepare(args: argparse.Namespace) -> str:
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench_chats.db"
    migrate.upgrade_in_thread(url)
    container = Container.build(Settings(database_url=url))
    async with container.sessions() as session:
        ctx = Ctx(session=session, config=container.config, clock=SystemClock())
        await add_salespeople(ctx, args.salespeople, "Продавец", STAFF_BASE, extensions=["101"])
    await container.dispose()
    return url


async def watch(
    fake: FakeTelegram, run: Run, args: argparse.Namespace, stop: asyncio.Event
) -> None:
    """Read what the bot sent as it arrives; reply to the relays the salespeople answer."""
    seen = 0
    staff = range(STAFF_BASE, STAFF_BASE + args.salespeople)
    every = max(1, round(1 / max(args.reply_share, 1e-9)))
    staff_ids = itertools.count(1)
    while not stop.is_set():
        calls_now = fake.calls[seen:]
        seen += len(calls_now)
        for call in calls_now:
            if call.status != 200:
                continue
            chat = call.chat_id
            if call.method == "sendMessage" and chat in staff:
                text = call.text or ""
                number = re.search(r"tel:\+7999000(\d{4})", text)
                if number is not None:  # a screen pop
                    run.pops_seen.setdefault(int(number.group(1)), call.at)
                    continue
                shown = [int(m.group(2)) for m in MARK.finditer(text) if m.group(1) == "m"]
                if shown:
                    run.relay_messages += 1
                for n in shown:  # a grouped relay shows several client messages
                    run.relay_copies[n] = run.relay_copies.get(n, 0) + 1
                    if n in run.relayed:
                        continue
                    run.relayed[n] = call.at
                    run.relay_call[n] = call
                    if n % every == 0 and isinstance(call.result, dict):
                        to = int(call.result["message_id"])
                        own = STAFF_BASE * 10 + next(staff_ids)
                        run.staff_messages[(int(chat), own)] = n
                        run.replied[n] = time.monotonic()
                        markup = call.params.get("reply_markup")
                        quote = f"m{n} вопрос" if len(shown) > 1 else None
                        update = reply_update(int(chat), own, to, f"r{n} ответ", markup, quote)
                        await fake.push_update(update)
            elif call.method == "copyMessage" and chat not in staff:
                key = (int(call.params.get("from_chat_id") or 0), int(call.params["message_id"]))
                n = run.staff_messages.get(key, -1)
                if n < 0:
                    continue
                run.reply_copies[n] = run.reply_copies.get(n, 0) + 1
                run.delivered.setdefault(n, call.at)
        await asyncio.sleep(0.005)


async def pops(
    container: Container, run: Run, args: argparse.Namespace, stop: asyncio.Event
) -> None:
    """A call rings the salesperson with extension 101 now and then (as the PBX inbox does)."""
    if args.pops <= 0:
        return
    for n in itertools.count():
        if stop.is_set():
            return
        await asyncio.sleep(1 / args.pops)
        now = datetime.now(UTC)
        event = CallEvent(
            provider="bench",
            provider_call_id=f"pop-{n}",
            kind="ringing",
            occurred_at=now,
            direction="in",
            client_number=f"+7999000{n:04d}",
            our_number="74950000001",
            extension="101",
        )
        async with container.sessions() as session:
            await calls.apply_event(
                Ctx(session=session, config=container.config, clock=SystemClock()), event=event
            )
        run.pops_queued[n] = time.monotonic()


async def load(fake: FakeTelegram, run: Run, args: argparse.Namespace, restart: Any) -> None:
    """Client messages on an open-loop schedule; the restart half-way."""
    total = int(args.rate * args.seconds)
    started = time.monotonic()
    restart_at = total // 2
    restarting: asyncio.Task[None] | None = None
    for n in range(total):
        due = started + n / args.rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        if n == restart_at and not args.no_restart:
            restarting = asyncio.create_task(restart())
        client = n % args.clients
        run.pushed[n] = time.monotonic()
        # Ids as Telegram gives them: one sequence for both sides of a private chat.
        await fake.push_update(
            client_update(CLIENT_BASE + client, fake.new_message_id(), f"m{n} вопрос")
        )
    if restarting is not None:
        await restarting


def started(component: BotComponent, args: argparse.Namespace) -> BotComponent:
    """The component, its sender's per-chat budget set when asked (no setting for it)."""
    if args.per_chat_interval is not None:
        component.runtime.sender._per_chat_interval = args.per_chat_interval
    return component


async def main(args: argparse.Namespace) -> None:
    url = await prepare(args)
    fake = FakeTelegram()
    await fake.start()
    settings = Settings(
        database_url=url,
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake.url,
        telegram_rate=args.telegram_rate,
        client_routing="round-robin",
        log_level="WARNING",
    )
    container = Container.build(settings)
    run = Run()
    component = started(BotComponent(container), args)
    await component.start(container)
    await component.runtime.wait_ready()
    freeze_startup_heap()  # as `perezvon run` does once it is up (app/heap.py)

    async def restart() -> None:
        nonlocal component
        began = time.monotonic()
        await component.stop()
        component = started(BotComponent(container), args)
        await component.start(container)
        await component.runtime.wait_ready()
        freeze_startup_heap()  # a restarted process freezes its start-up heap too
        run.restart = (began, time.monotonic())

    stop, load_done = asyncio.Event(), asyncio.Event()
    watcher = asyncio.create_task(watch(fake, run, args, stop))
    ringing = asyncio.create_task(pops(container, run, args, load_done))
    await load(fake, run, args, restart)
    load_done.set()  # no pop after the load: each one queued has time to go out
    stop_pops = time.monotonic()
    deadline = stop_pops + args.drain
    while time.monotonic() < deadline:
        done = len(run.relayed) >= len(run.pushed) and len(run.delivered) >= len(run.replied)
        if done:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # anything sent twice would show by now
    stop.set()
    await asyncio.gather(watcher, ringing)
    await component.stop()
    await split(container, run)
    await container.dispose()
    await fake.stop()
    report(run, args, fake)
    limits(fake)


def limits(fake: FakeTelegram) -> None:
    """What the bot asked of the fake against Telegram's limits (the fake enforces none):
    the most messages in any one second, overall and into one chat."""
    sends = sorted(
        (call.at, call.chat_id)
        for call in fake.calls
        if call.status == 200 and call.method.startswith(("send", "copy"))
    )
    overall, per_chat, start = 0, 0, 0
    by_chat: dict[Any, list[float]] = {}
    for index, (at, chat) in enumerate(sends):
        while sends[start][0] <= at - 1.0:
            start += 1
        overall = max(overall, index - start + 1)
        times = by_chat.setdefault(chat, [])
        times.append(at)
        per_chat = max(per_chat, sum(1 for t in times[-10:] if t > at - 1.0))
    print(
        f"  Telegram limits at the fake: at most {overall} messages in any second overall "
        f"(Telegram: ~30), {per_chat} into one chat (Telegram: ~1/s, short bursts allowed)"
    )


async def split(container: Container, run: Run) -> None:
    """Where a relay's time goes: pushed -> relay queued (polling, the handler, its commit),
    queued -> at the fake (the outbox sender)."""
    wall = time.time() - time.monotonic()
    async with container.sessions() as session:
        rows = await session.execute(
            select(ChatMessage.text, Notification.created_at)
            .join(Notification, Notification.dedupe_key.like("client_relay:%"))
            .where(
                ChatMessage.direction == "in",
                Notification.kind == "client_relay",
                Notification.payload["chat_message_id"].as_integer() == ChatMessage.id,
            )
        )
        queued = {}
        for body, created in rows:
            found = MARK.search(body or "")
            if found is not None:
                queued[int(found.group(2))] = created.timestamp() - wall
    run.queued = queued


def report(run: Run, args: argparse.Namespace, fake: FakeTelegram) -> None:
    begin, end = run.restart
    margin = 2.0  # seconds either side of the restart left out of the second line

    def calm(at: float) -> bool:
        return not (begin - margin <= at <= end + margin) if end else True

    relay = {n: run.relayed[n] - at for n, at in run.pushed.items() if n in run.relayed}
    answer = {n: run.delivered[n] - at for n, at in run.replied.items() if n in run.delivered}
    pop = {n: run.pops_seen[n] - at for n, at in run.pops_queued.items() if n in run.pops_seen}
    print(
        f"client chats: {len(run.pushed)} client messages from {args.clients} clients at "
        f"{args.rate:.0f}/s over {args.seconds:.0f} s, {args.salespeople} salespeople answering "
        f"{args.reply_share:.0%} of them; TELEGRAM_RATE {args.telegram_rate:.0f}/s; "
        f"per chat 1 message every {args.per_chat_interval or 1.0:g} s after a burst of 3"
    )
    if end:
        print(f"  restart half-way: the bot was down {end - begin:.1f} s")
    print(figures("client message -> relay", list(relay.values())))
    print(figures("  away from the restart", [v for n, v in relay.items() if calm(run.pushed[n])]))
    handling = [run.queued[n] - at for n, at in run.pushed.items() if n in run.queued]
    sending = [run.relayed[n] - at for n, at in run.queued.items() if n in run.relayed]
    print(figures("  of which pushed -> queued", handling))
    print(figures("  of which queued -> at the fake", sending))
    # Telegram's ~1 message a second into each salesperson's chat: the wait that budget alone
    # imposed (the floor; the room relays leave for a screen pop is Perezvon's, not counted),
    # and the rest.
    waits = {
        n: budget_wait(fake, run.relay_call[n], at)
        for n, at in run.queued.items()
        if n in run.relay_call
    }
    bound = sum(1 for wait in waits.values() if wait > 0.001)
    print(
        f"    waited for the salesperson chat's Telegram budget: {bound} of {len(waits)}, "
        f"p50 {pct([w * 1000 for w in waits.values()], 0.5):.0f} ms, "
        f"max {max(waits.values() or [0]) * 1000:.0f} ms"
    )
    print(
        figures(
            "  relay without that wait",
            [relay[n] - waits[n] for n in relay if n in waits and calm(run.pushed[n])],
        )
        + " (away from the restart)"
    )
    print(figures("reply -> delivered to the client", list(answer.values())))
    print(
        figures("  away from the restart", [v for n, v in answer.items() if calm(run.replied[n])])
    )
    print(figures("screen pop committed -> at the fake", list(pop.values())))
    lost_relays = len(run.pushed) - len(run.relayed)
    twice_relays = sum(1 for c in run.relay_copies.values() if c > 1)
    lost_replies = len(run.replied) - len(run.delivered)
    twice_replies = sum(1 for c in run.reply_copies.values() if c > 1)
    print(f"  relays: {lost_relays} lost, {twice_relays} sent twice")
    print(f"  relayed in {run.relay_messages} staff messages (grouped when they waited)")
    print(f"  replies: {lost_replies} lost, {twice_replies} sent twice")
    unseen = len(run.pops_queued) - len(run.pops_seen)
    print(f"  screen pops: {unseen} not seen of {len(run.pops_queued)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["business"]:  # the Business logging rate: bench/chats_business.py
        import runpy

        sys.argv = [str(Path(__file__).with_name("chats_business.py")), *sys.argv[2:]]
        runpy.run_path(sys.argv[0], run_name="__main__")
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="client messages a second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--salespeople", type=int, default=10)
    parser.add_argument("--reply-share", type=float, default=0.25, help="relays answered")
    parser.add_argument("--pops", type=float, default=0.5, help="screen pops a second")
    parser.add_argument("--telegram-rate", type=float, default=30.0, help="TELEGRAM_RATE")
    parser.add_argument("--drain", type=float, default=30.0, help="seconds to wait at the end")
    parser.add_argument("--no-restart", action="store_true")
    parser.add_argument(
        "--per-chat-interval",
        type=float,
        default=None,
        help="seconds between messages to one chat (the sender's budget; default its own, 1 s)",
    )
    parser.add_argument("--database-url", help="a migrated database to use (default: temp SQLite)")
    asyncio.run(main(parser.parse_args()))
