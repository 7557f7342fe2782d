"""Outbox delivery: claimed notifications rendered and sent to Telegram within its rate limits.

1. Claim: due rows are claimed in the database (a lease; `SKIP LOCKED` on PostgreSQL), urgent
   kinds (the screen pop, the post-call prompt) first — even when the batch is full — then
   client chats (relays and answers), then the rest, and queued per chat; the claim loop runs
   every `poll_interval` and at once when `wake()` says a commit added notifications.
2. Render: each chat's worker renders its rows (`bot.notifications.render`; None settles the
   row as skipped), so a slow card never holds up another chat. Call messages read through
   `BotDeps.read_sessions` when the composition root made them (SQLite: on the event loop's
   thread, read-only; a card's ten reads no longer wait for aiosqlite's thread twice each).
   A chat has two lanes: new messages, and below them edits (step 4). Among new messages
   the screen pop goes first, then the other call messages, then the rest, each kind in
   claim order: a card waits for no reminder or digest queued before it.
3. Send: each request waits for the chat's budget, then for the global limiter (an aiolimiter
   leaky bucket, `rate` a second). Its turns go by urgency, then arrival: a screen pop
   first, then the other call messages (URGENT_KINDS: a post-call prompt, a missed call),
   then every other new message of any chat, then edits, so a screen pop never queues
   behind a hundred welcomes and relays to other chats that wait for the same budget, nor
   behind the prompts of calls that have ended (at most the one request already at the
   limiter).
   A chat's budget is a token bucket: `per_chat_burst` messages at once, then one per
   `per_chat_interval` (Telegram asks for about one message a second per chat and allows
   short bursts; a 429 is honoured anyway). Strict one-a-second
   spacing made the third card of three calls ringing one person within a second arrive
   two seconds late, after the pickup.
4. Edits: `call_update` and `task_update` rows edit the message their original (a screen pop,
   a missed-call task) became, by `editMessageText`. They are the chat's lower lane: an edit
   goes only while no new message waits for the chat, and only when the chat's budget and the
   global one keep room for one more message after it, so a pop that comes next goes at
   once, not behind an edit (it still waits for what Telegram's per-chat rate demands). The
   edits of one message held together coalesce: the newest is rendered from the state as it
   is at the moment it goes (after its wait) and sent as one request; the older rows are
   recorded with it, so no outdated state is ever sent after a newer one and a burst of
   changes costs Telegram one request. Edits render the current state, so resending one
   (a restart, an expired lease) is harmless. The original's message id is kept in memory
   from Telegram's answer until it is recorded, then in the row. An edit whose original has
   not gone out yet waits a second and tries again; "not modified" counts as done; an
   original that is gone or too old to edit settles the edit as skipped and nothing new is
   sent (a second message about a call that is over would only be noise: the post-call
   prompt and the task carry what is left to do).
5. Grouped relays: a `client_relay` taken from a chat's lane of new messages first waits for
   the chat's budget; then the other relays waiting in that lane go out with it, rendered as
   one message (bot/client_chats.py `render_relay_group`; it says which rows each request
   shows). Client messages arriving faster than Telegram's ~1 message a second per chat then
   wait one message, not a queue that grows. If a pop came meanwhile, it goes first; and
   relays leave the chat one message of its burst, so a pop meets a budget relays have not
   used up.
6. Record: a sent row is marked sent right after Telegram's 200 by a recorder task that
   commits whatever has been delivered since its last commit. The time from the 200 to that
   commit is the whole at-least-once window: a crash inside it resends those messages once the
   claim's lease expires. A timeout on a request Telegram did process is the other, rarer, way.
7. Messages the bot sends outside the outbox (a handler's answer, the welcome at /start)
   spend the same budgets: `budget_middleware()` on the Bot's session makes each such request
   that produces or changes a message wait for the global limiter, as a new message of the
   outbox does, and counts it against its chat's budget (it does not wait for the chat: the
   person is talking to the bot right now). A hundred new clients writing in one second are
   welcomed at Telegram's rate, not in one burst that meets 429s.
Failures: 429 waits `retry_after` (in memory when short, else back in the database); network
errors, 5xx and 401/404 from the API mean Telegram is unreachable: the row goes back uncounted
and claiming pauses with a growing backoff, so an outage of any length loses nothing; 403 marks
the user inactive; other 4xx fail the row for good (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import EditMessageText, Response, SendDocument, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import BufferedInputFile, Message, MessageId
from aiolimiter import AsyncLimiter
from sqlalchemy.ext.asyncio import AsyncSession

from bot import client_chats, notifications
from bot.deps import BotDeps
from bot.notifications import Rendered
from bot.telegram_session import BOT_REFUSED, NO_ANSWER
from bot.text_split import CAPTION_LIMIT, split_html, telegram_length
from core.context import Ctx
from core.conversations import delivery as client_delivery
from core.db import session_scope
from core.outbox import service as outbox
from core.outbox.models import Notification
from core.telemetry import SendResult, pop_origins, telemetry

log = logging.getLogger(__name__)

# Set while the sender itself talks to Telegram: its requests have waited for the budgets.
_FROM_OUTBOX: contextvars.ContextVar[bool] = contextvars.ContextVar("from_outbox", default=False)
# Requests that do not produce or change a message spend no budget (sendChatAction neither).
_BUDGETED_PREFIXES = ("send", "copy", "forward", "edit")

URGENT_KINDS = ("incoming_call", "post_call", "missed_call", "call_update", "task_update")
# Client chats (issue 17): claimed after the urgent kinds and before the routine ones, and
# ranked after them in a chat's queue, so screen pops still go first.
CLIENT_KINDS = client_delivery.CLIENT_KINDS
# Order within a chat's lane of new messages (lower first); kinds not named here come last.
CHAT_PRIORITY = {
    "incoming_call": 0,
    "post_call": 1,
    "missed_call": 1,
    "client_relay": 2,
    "client_message": 2,
}
# Edits of live messages: the lower lane, after every new message for the chat (a person
# waits for the pop and the prompt, while a pop that says "ended" a second late misleads
# nobody), coalesced per edited message.
EDIT_KINDS = tuple(notifications.EDITS)
EDIT_WAIT_SECONDS = 1.0  # an edit whose original is still on its way tries again after this
EDIT_POLL_SECONDS = 0.05  # an edit held back by the global budget looks again after this
NOT_MODIFIED = "message is not modified"
RETRY_IN_MEMORY_SECONDS = 10.0  # a longer 429 goes back to the database
CHAT_BACKLOG = 5  # routine messages held in memory per chat; more wait in the database
URGENT_ROOM = 10  # call messages claimed even when the batch is full
OUTAGE_BACKOFF = (0.5, 30.0)  # first and longest pause while Telegram is unreachable
UNREACHABLE = (*NO_ANSWER, *BOT_REFUSED)

GROUPED_KINDS = ("client_relay",)  # rows of one chat that may go out as one message
GROUP_MAX = 20  # rows in one grouped message

Renderer = Callable[[AsyncSession, BotDeps, Notification], Awaitable[Rendered | None]]
GroupRenderer = Callable[[AsyncSession, BotDeps, list[Notification]], Awaitable[Rendered | None]]


@dataclass
class _Item:
    notification_id: int
    kind: str
    row: Notification
    message_id: int | None = None  # what Telegram answered, for the live kinds
    message_ids: list[int] = field(default_factory=list)  # every message it became
    group: list[_Item] = field(default_factory=list)  # rows going out with it (step 5)
    covers: list[int] = field(default_factory=list)  # older edits this one is sent for
    # a group's rows -> the messages that show them (step 5)
    became: dict[int, list[int]] = field(default_factory=dict)


@dataclass(order=True)
class _Turn:
    """A request waiting for the global limiter (step 3): lower rank first, then arrival."""

    rank: int  # 0: a screen pop, 1: another call message, 2: another new message, 3: an edit
    order: int
    called: asyncio.Event = field(default_factory=asyncio.Event, compare=False)


_Queued = tuple[int, int, _Item]  # (priority, claim order, item): a chat's queue entry


@dataclass
class _Chat:
    """What a chat holds in memory: new messages by rank, and below them the edits, by the
    notification whose message they edit (oldest first)."""

    messages: asyncio.PriorityQueue[_Queued] = field(default_factory=asyncio.PriorityQueue)
    edits: dict[int, list[_Item]] = field(default_factory=dict)
    sending: set[int] = field(default_factory=set)  # messages with an edit at Telegram now
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # a message came, an edit went

    def empty(self) -> bool:
        return self.messages.empty() and not self.edits and not self.sending

    async def wait_arrival(self, within: float) -> None:
        """Wait up to `within` seconds for a message to come or an edit to go."""
        self.arrived.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self.arrived.wait()

    def ready_edit(self) -> int | None:
        """The first message with edits waiting and none of its edits at Telegram now."""
        return next((target for target in self.edits if target not in self.sending), None)

    def drain(self) -> list[_Item]:
        items = _drain(self.messages)
        for held in self.edits.values():
            items += held
        self.edits.clear()
        self.arrived.set()  # a worker waiting for an edit's turn looks again
        return items


class OutboxSender:
    """Delivers the outbox from the bot's process; `start()`/`stop()` bracket its life."""

    def __init__(
        self,
        bot: Bot,
        deps: BotDeps,
        *,
        rate: float = 25.0,
        per_chat_interval: float = 1.0,
        per_chat_burst: int = 3,
        poll_interval: float = 0.1,
        batch: int = 50,
        render: Renderer | None = None,
        group_render: GroupRenderer | None = None,
    ) -> None:
        self._bot = bot
        self._deps = deps
        self._render = render or notifications.render
        # Grouping goes with the real renderer (a test's own renderer sends rows one by one).
        self._group_render = group_render or (
            client_chats.render_relay_group if render is None else None
        )
        self._poll_interval = poll_interval
        self._batch = batch
        self._per_chat_interval = per_chat_interval
        self._per_chat_burst = max(1, per_chat_burst)
        # Grouped relays leave a chat one message of its burst: a screen pop that comes while
        # relays keep the chat busy goes at once, not after the next second (step 5).
        self._reserve = 1 if self._per_chat_burst > 1 else 0
        # Bursts of at most a tenth of a second's worth: a 1-second window never sees more
        # than 1.1 x rate (Telegram's ~30/s is a limit on any second, not an average).
        self._global = AsyncLimiter(max(rate / 10, 1.0), max(rate / 10, 1.0) / rate)
        self._global_waiting = 0  # new messages waiting for the global limiter
        self._turns: list[_Turn] = []  # a heap: who waits for the global limiter (step 3)
        self._turn_order = itertools.count()
        # What an edit leaves free: a new message after it goes at once (when there is room).
        self._edit_room = min(2.0, self._global.max_rate)
        self._edit_reserve = 1.0 if self._per_chat_burst > 1 else 0.0
        self.rate = rate
        # chat id -> (messages it may send now, monotonic time that was counted at)
        self._chat_budget: dict[int, tuple[float, float]] = {}
        self._chats: dict[int, _Chat] = {}  # by chat id (or -user id)
        self._order = itertools.count()  # claim order, within a kind's priority
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._edit_sends: set[asyncio.Task[None]] = set()  # edits at Telegram (step 4)
        self._inflight: dict[int, str] = {}  # notification id -> kind
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._paused_until = 0.0  # monotonic; claiming waits while Telegram is unreachable
        self._outage_pause = OUTAGE_BACKOFF[0]
        self._delivered: list[int] = []  # sent, not yet recorded
        # notification id -> its Telegram message id (live kinds), until recorded in the row
        self._message_ids: dict[int, int] = {}
        # notification id -> the messages a client kind became, until recorded
        self._client_sent: dict[int, list[int]] = {}
        self._delivered_event = asyncio.Event()
        self._recorder: asyncio.Task[None] | None = None
        self.sent = 0
        # The process' single-writer slot on SQLite (app/ sets the inbox writer's), if any.
        self.write_turn: Callable[[], contextlib.AbstractAsyncContextManager[None]] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-sender")
            self._recorder = asyncio.create_task(self._record_loop(), name="outbox-recorder")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming, let messages being sent finish, give the unsent back at once."""
        self._stopping = True
        if self._task is not None:
            # Let a claim in progress finish and queue its rows (they are given back below);
            # cancelled inside its commit, it would leave them claimed and unqueued, so they
            # would wait out the lease.
            self._wake.set()
            await asyncio.wait({self._task}, timeout=grace)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        unsent = [item.notification_id for c in self._chats.values() for item in c.drain()]
        workers = list(self._workers.values()) + list(self._edit_sends)
        if workers:
            _done, pending = await asyncio.wait(workers, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._recorder is not None and not self._recorder.done():
            # Let the recorder commit what went out (never cancel it inside that commit).
            self._delivered_event.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._recorder), timeout=10)
            except TimeoutError:
                self._recorder.cancel()
        self._recorder = None
        # The recorder leaves when nothing is waiting, which can be while the workers above
        # still finish their last sends: record those too, or a restart would send them again.
        await self._record_delivered()
        if unsent:
            await self._with_ctx(
                lambda ctx: outbox.defer(ctx, notification_ids=unsent, until=ctx.clock.now())
            )
        self._workers.clear()
        self._chats.clear()

    def wake(self) -> None:
        """A commit added notifications: claim now (safe from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            if asyncio.get_running_loop() is loop:
                self._wake.set()
                return
        except RuntimeError:
            pass
        loop.call_soon_threadsafe(self._wake.set)

    # -- claim -> render -> queue ---------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:  # stop() also cancels; the flag ends the loop if that is lost
            # Cleared before the claim: a wake-up that comes during the claim is kept.
            self._wake.clear()
            try:
                pause = self._paused_until - time.monotonic()
                claimed = 0 if pause > 0 else await self.claim_and_queue()
            except Exception:
                if self._stopping:  # the cancel broke the claim: stop, don't retry
                    raise asyncio.CancelledError from None
                log.exception("outbox claim failed; retrying shortly")
                claimed, pause = 0, 1.0
            if claimed == 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(pause, self._poll_interval)):
                        await self._wake.wait()

    async def claim_and_queue(self) -> int:
        """Claim what fits in memory (urgent kinds first) and queue it per chat; each chat's
        worker renders and sends, so one slow card never holds up another chat."""
        self._forget_quiet_chats()
        # Edits held here are few and coalesce; they do not take the room of new messages.
        held = sum(kind not in EDIT_KINDS for kind in self._inflight.values())
        room = self._batch - held
        # Call messages are claimed even when the batch is full of messages waiting for their
        # chat's budget (a busy client chat): a screen pop never waits behind them.
        urgent = await self._with_ctx(
            lambda ctx: outbox.claim(ctx, limit=max(room, URGENT_ROOM), kinds=URGENT_KINDS)
        )
        await self._enqueue(urgent)  # the screen pops start before the rest is claimed
        chats: list[Notification] = []
        room = max(room, len(urgent))
        if len(urgent) < room and not self._stopping:
            chats = await self._with_ctx(
                lambda ctx: outbox.claim(ctx, limit=room - len(urgent), kinds=CLIENT_KINDS)
            )
            await self._enqueue(chats)
        rest: list[Notification] = []
        taken = len(urgent) + len(chats)
        if taken < room and not self._stopping:
            rest = await self._with_ctx(lambda ctx: outbox.claim(ctx, limit=room - taken))
            await self._enqueue(rest)
        return taken + len(rest)

    async def _enqueue(self, rows: list[Notification]) -> None:
        """Queue claimed rows per chat; a chat already holding CHAT_BACKLOG gets them later."""
        deferred: list[int] = []
        for row in rows:
            if row.id in self._inflight:  # its lease ran out while it waited here: still ours
                continue
            key = row.chat_id if row.chat_id is not None else -(row.user_id or 0)
            chat = self._chat(key)
            if row.kind in EDIT_KINDS:
                self._inflight[row.id] = row.kind
                chat.edits.setdefault(_edited(row), []).append(_Item(row.id, row.kind, row))
                continue
            queue = chat.messages
            if queue.qsize() >= CHAT_BACKLOG and row.kind not in URGENT_KINDS + CLIENT_KINDS:
                # Memory is bounded by deferring the routine ones; a call message is never
                # pushed back behind them (they are few: a person's calls).
                deferred.append(row.id)
                continue
            self._inflight[row.id] = row.kind
            rank = CHAT_PRIORITY.get(row.kind, len(CHAT_PRIORITY))
            queue.put_nowait((rank, next(self._order), _Item(row.id, row.kind, row)))
            chat.arrived.set()
        if deferred:
            later = self._deps.clock.now() + timedelta(seconds=CHAT_BACKLOG)
            await self._with_ctx(
                lambda ctx: outbox.defer(ctx, notification_ids=deferred, until=later)
            )

    async def _render_one(self, row: Notification) -> Rendered | None:
        """The message for a row, or None after settling a row there is nothing to send for.
        A call message reads through the read-only sessions when there are some (BotDeps)."""
        sessions = self._deps.sessions
        if row.kind in URGENT_KINDS and self._deps.read_sessions is not None:
            sessions = self._deps.read_sessions
        try:
            async with session_scope(sessions) as session:
                rendered = await self._render(session, self._deps, row)
        except Exception as exc:
            log.exception("rendering notification %s (%s) failed", row.id, row.kind)
            await self._settle_failed(row.id, f"render: {type(exc).__name__}: {exc}")
            return None
        if rendered is None:
            await self._settle(
                lambda ctx: outbox.mark_skipped(ctx, notification_id=row.id, reason="no recipient")
            )
        return rendered

    def _chat(self, key: int) -> _Chat:
        chat = self._chats.get(key)
        if chat is None:
            chat = self._chats[key] = _Chat()
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(
                self._chat_worker(key, chat), name=f"outbox-chat-{key}"
            )
        return chat

    # -- send -----------------------------------------------------------------------------

    async def _chat_worker(self, key: int, chat: _Chat) -> None:
        """Send a chat's messages, each new one before any edit, until it holds nothing."""
        try:
            while not chat.empty() and not self._stopping:
                if not chat.messages.empty():
                    rank, order, item = chat.messages.get_nowait()
                    if item.kind in GROUPED_KINDS and self._group_render is not None:
                        if self._budget_covers(key, chat.messages, item.kind):
                            pass  # each goes on its own, now
                        # The chat's relays gather while it waits for its budget; a pop that
                        # comes goes first, at once (relays leave it the room), not after this.
                        elif (
                            delay := self._chat_wait(key, reserve=self._reserve)
                        ) > 0 and await _interrupted(chat, rank, delay):
                            chat.messages.put_nowait((rank, order, item))
                            continue
                        if not self._budget_covers(key, chat.messages, item.kind):
                            item.group = _take_kind(chat.messages, item.kind, GROUP_MAX - 1)
                    try:
                        await self._deliver(item)
                    except Exception:  # the claim's lease brings the row back
                        log.exception("delivering notification %s failed", item.notification_id)
                    finally:
                        self._inflight.pop(item.notification_id, None)
                        for member in item.group:
                            self._inflight.pop(member.notification_id, None)
                elif chat.ready_edit() is None:  # its edits are at Telegram: wait for them
                    await chat.wait_arrival(1.0)
                elif await self._edit_turn(key, chat) and (target := chat.ready_edit()) is not None:
                    items = chat.edits.pop(target)
                    try:
                        await self._deliver_edit(key, chat, target, items)
                    except Exception:  # the claim's lease brings the rows back
                        log.exception("editing for notification %s failed", target)
                        self._release(items)
        finally:
            self._workers.pop(key, None)
            if chat.empty():
                self._chats.pop(key, None)

    async def _edit_turn(self, key: int, chat: _Chat) -> bool:
        """Wait until an edit may go and still leave room for one more message at once, in the
        chat's budget and in the global one; False when a new message came first."""
        while not self._stopping and chat.messages.empty():
            wait = self._chat_wait(key, reserve=self._edit_reserve)
            if wait <= 0:
                if self._global_waiting == 0 and self._global.has_capacity(self._edit_room):
                    return True
                # New messages of other chats are taking the global budget: look again soon.
                wait = max(1 / self.rate, EDIT_POLL_SECONDS)
            await chat.wait_arrival(wait)
        return False

    async def _deliver(self, item: _Item) -> None:
        rendered = await (self._render_group(item) if item.group else self._render_one(item.row))
        if rendered is None:
            return
        if await self._send_all(item, rendered):
            self._sent(item)

    async def _deliver_edit(self, key: int, chat: _Chat, target: int, items: list[_Item]) -> None:
        """One editMessageText for the edits of one message held here: the newest, rendered
        from the state as it is now; the older ones are recorded with it. The request goes
        on its own, so the chat's next message does not wait for Telegram's answer to it."""
        carrier, older = items[-1], [i.notification_id for i in items[:-1]]
        carrier.covers = older
        rendered = await self._render_one(carrier.row)
        if rendered is None:  # settled as skipped: the older ones have nothing to say either
            await self._settle_covered(carrier, "nothing to edit")
            self._release(items)
            return
        if self._stopping:  # stop() has given back what it held: these go back too
            ids = [i.notification_id for i in items]
            await self._settle(
                lambda ctx: outbox.defer(ctx, notification_ids=ids, until=ctx.clock.now())
            )
            self._release(items)
            return
        if not chat.messages.empty():  # one came while this rendered: it goes first
            chat.edits = {target: items + chat.edits.pop(target, []), **chat.edits}
            return
        if rendered.edit_of is not None and rendered.edit_message_id is None:
            rendered.edit_message_id = self._message_ids.get(rendered.edit_of)
            if rendered.edit_message_id is None:  # the original is still on its way
                ids = [carrier.notification_id, *older]
                later = self._deps.clock.now() + timedelta(seconds=EDIT_WAIT_SECONDS)
                await self._settle(lambda ctx: outbox.defer(ctx, notification_ids=ids, until=later))
                self._release(items)
                return
        chat.sending.add(target)
        send = asyncio.create_task(
            self._send_edit(chat, target, carrier, rendered), name=f"outbox-edit-{key}"
        )
        self._edit_sends.add(send)
        send.add_done_callback(self._edit_sends.discard)

    async def _send_edit(
        self, chat: _Chat, target: int, carrier: _Item, rendered: Rendered
    ) -> None:
        try:
            if await self._send_all(carrier, rendered):
                self._sent(carrier)
            else:  # given back (the carrier goes again with the state of then) or settled
                reason = f"superseded by notification {carrier.notification_id}"
                await self._settle_covered(carrier, reason)
        except Exception:  # the claim's lease brings the rows back
            log.exception("editing for notification %s failed", carrier.notification_id)
        finally:
            chat.sending.discard(target)
            self._inflight.pop(carrier.notification_id, None)
            for nid in carrier.covers:
                self._inflight.pop(nid, None)
            chat.arrived.set()

    def _release(self, items: list[_Item]) -> None:
        """These rows are settled or given back: no longer held here."""
        for item in items:
            self._inflight.pop(item.notification_id, None)

    async def _send_all(self, item: _Item, rendered: Rendered) -> bool:
        """Send every request of a rendered message within the budgets; False when it was
        given back or settled on the way."""
        chat_id = rendered.chat_id
        shows: list[list[int]] | None = getattr(rendered, "shows", None)
        for index, method in enumerate(_methods(rendered)):
            before = len(item.message_ids)
            # A group's later part: a failure now concerns the rows not shown yet, while the
            # rows earlier parts showed are at the salesperson's and count as sent.
            unshown = self._unshown(item, shows, index, rendered)
            while True:
                # The chat's token is taken at the moment of the request, after the global
                # wait; one taken before that wait could let requests bunch up.
                if (delay := self._chat_wait(chat_id)) > 0:
                    await asyncio.sleep(delay)
                await self._global_turn(new_message=item.kind not in EDIT_KINDS, kind=item.kind)
                self._take_chat_token(chat_id)
                outcome = await self._send(item, method, failing=unshown)
                if outcome is None:
                    break  # this part went out
                if outcome == "settled":
                    if unshown is None:
                        await self._give_back_group(item)
                    else:
                        self._sent(item, rendered, only_shown=True)
                    return False  # given back or failed inside _send
                # Flood control: after its wait the chat starts again from an empty budget,
                # not with a fresh burst that would meet the next 429.
                self._chat_budget[chat_id] = (0.0, time.monotonic())
            for shown in shows[index] if shows is not None and index < len(shows) else ():
                item.became.setdefault(shown, []).extend(item.message_ids[before:])
        return True

    @staticmethod
    def _unshown(
        item: _Item, shows: list[list[int]] | None, index: int, rendered: Rendered
    ) -> list[int] | None:
        """The rows of a group that its parts from `index` on show (None before any part has
        gone out, or for a single row: a failure then concerns the whole item)."""
        if not item.group or shows is None or index == 0:
            return None
        skipped = set(getattr(rendered, "skipped", ()))
        shown = {nid for part in shows[:index] for nid in part}
        return [
            member.notification_id
            for member in (item, *item.group)
            if member.notification_id not in shown and member.notification_id not in skipped
        ]

    async def _settle_covered(self, carrier: _Item, reason: str) -> None:
        """The older edits a carrier was sent for: settled as skipped, never sent on their own."""
        covered = list(carrier.covers)

        async def skip(ctx: Ctx) -> None:
            for nid in covered:
                await outbox.mark_skipped(ctx, notification_id=nid, reason=reason)

        if covered:
            await self._settle(skip)

    def _sent(
        self, item: _Item, rendered: Rendered | None = None, *, only_shown: bool = False
    ) -> None:
        """Bookkeeping once every request of an item went out: recorded by the recorder
        (`only_shown`: a group's later part failed; the rows earlier parts showed went out,
        but the item did not: it is not counted, and the outage backoff its failure set
        stays)."""
        if not only_shown:
            self.sent += 1
            self._outage_pause = OUTAGE_BACKOFF[0]
        if item.kind == "incoming_call":
            _time_screen_pop(item.row, self._deps.clock.now())
        if item.message_id is not None and item.kind in outbox.LIVE_KINDS:
            self._message_ids[item.notification_id] = item.message_id
        if item.group:
            skipped = set(getattr(rendered, "skipped", ()))
            for member in (item, *item.group):
                if only_shown and member.notification_id not in item.became:
                    continue  # settled by the failed part
                if member.notification_id not in skipped:
                    self._client_sent[member.notification_id] = item.became.get(
                        member.notification_id, []
                    )
                    self._delivered.append(member.notification_id)
        else:
            if item.kind in CLIENT_KINDS:
                self._client_sent[item.notification_id] = list(item.message_ids)
            self._delivered += [item.notification_id, *item.covers]
        self._delivered_event.set()

    async def _render_group(self, item: _Item) -> Rendered | None:
        """Rows going out together (step 5) as one rendering; the rows it has nothing to show
        for are settled as skipped."""
        rows = [item.row, *(member.row for member in item.group)]
        ids = [row.id for row in rows]
        assert self._group_render is not None
        try:
            async with session_scope(self._deps.sessions) as session:
                rendered = await self._group_render(session, self._deps, rows)
        except Exception as exc:
            log.exception("rendering notifications %s (grouped) failed", ids)
            for nid in ids:
                await self._settle_failed(nid, f"render: {type(exc).__name__}: {exc}")
            return None
        skipped = ids if rendered is None else list(getattr(rendered, "skipped", ()))
        if skipped:
            await self._settle(lambda ctx: _skip_all(ctx, skipped))
        return rendered

    async def _give_back_group(self, item: _Item) -> None:
        """The lead row of a group was given back or failed: the others go back to be sent."""
        if item.group:
            ids = [member.notification_id for member in item.group]
            await self._settle(
                lambda ctx: outbox.defer(ctx, notification_ids=ids, until=ctx.clock.now())
            )

    async def _record_loop(self) -> None:
        """Record deliveries as they happen, several in one commit when they come together."""
        while True:
            await self._delivered_event.wait()
            self._delivered_event.clear()
            await self._record_delivered()
            if self._stopping and not self._delivered:
                return

    async def _record_delivered(self) -> None:
        ids, self._delivered = self._delivered, []
        if ids:
            kept = {i: self._message_ids[i] for i in ids if i in self._message_ids}
            chats = {i: self._client_sent[i] for i in ids if i in self._client_sent}

            async def record(ctx: Ctx) -> None:
                # What client messages and relays became, in the commit that marks them sent.
                await client_delivery.record_sent(ctx, sent=chats)
                await outbox.mark_all_sent(ctx, notification_ids=ids, message_ids=kept)

            await self._settle(record)
            for notification_id in kept:  # in the row now (or the lease resends it)
                self._message_ids.pop(notification_id, None)
            for notification_id in chats:
                self._client_sent.pop(notification_id, None)

    def _budget_covers(
        self, chat_id: int, queue: asyncio.PriorityQueue[_Queued], kind: str
    ) -> bool:
        """The chat may be sent this row and every other `kind` row waiting for it now."""
        waiting = sum(1 for entry in _peek(queue) if entry[2].kind == kind)
        return self._chat_tokens(chat_id, time.monotonic()) >= 1 + waiting + self._reserve

    def _chat_tokens(self, chat_id: int, now: float) -> float:
        tokens, at = self._chat_budget.get(chat_id, (self._per_chat_burst, now))
        return min(self._per_chat_burst, tokens + (now - at) / self._per_chat_interval)

    def _chat_wait(self, chat_id: int, *, reserve: float = 0.0) -> float:
        """Seconds until the chat may be sent another message (0: now) and still have
        `reserve` messages' room after it."""
        need = 1 + reserve
        tokens = self._chat_tokens(chat_id, time.monotonic())
        return 0.0 if tokens >= need else (need - tokens) * self._per_chat_interval

    def budget_middleware(self) -> BaseRequestMiddleware:
        """The Bot session's middleware that makes messages sent outside the outbox spend
        the outbox's budgets (step 7)."""
        return _OutsideOutbox(self)

    async def spend(self, chat_id: Any) -> None:
        """A message sent outside the outbox: wait for the global budget as a new message,
        then count it against its chat's budget (step 7)."""
        await self._global_turn(new_message=True)
        if isinstance(chat_id, int):
            self._take_chat_token(chat_id)

    async def _global_turn(self, *, new_message: bool, kind: str = "") -> None:
        """Wait for the global limiter, in turn by urgency, then arrival (step 3): only the
        first in line waits at the limiter. A new message waiting is counted, so that no edit
        takes the room it waits for (step 4)."""
        if not new_message:
            rank = 3
        elif kind == "incoming_call":  # the phone rings now: before the other call messages
            rank = 0
        else:
            rank = 1 if kind in URGENT_KINDS else 2
        turn = _Turn(rank, next(self._turn_order))
        heapq.heappush(self._turns, turn)
        self._global_waiting += new_message
        try:
            while self._turns[0] is not turn:
                await turn.called.wait()
                turn.called.clear()
            await self._global.acquire()
        finally:
            self._global_waiting -= new_message
            if self._turns[0] is turn:  # the usual way out: its turn came
                heapq.heappop(self._turns)
            else:  # cancelled while waiting in line
                self._turns.remove(turn)
                heapq.heapify(self._turns)
            if self._turns:
                self._turns[0].called.set()

    def _take_chat_token(self, chat_id: int) -> None:
        now = time.monotonic()
        self._chat_budget[chat_id] = (self._chat_tokens(chat_id, now) - 1, now)

    def _forget_quiet_chats(self) -> None:
        """A chat whose budget has filled up again is as good as new: drop its entry."""
        now = time.monotonic()
        full = [c for c in self._chat_budget if self._chat_tokens(c, now) >= self._per_chat_burst]
        for chat_id in full:
            del self._chat_budget[chat_id]

    async def _send(
        self, item: _Item, method: TelegramMethod[Any], *, failing: list[int] | None = None
    ) -> str | None:
        """Send one request; None when it went out, "retry", or "settled" when given back.
        A failure settles the item's row, or the rows `failing` names (a group's later part:
        the rows it and the parts after it would have shown)."""
        nid = item.notification_id
        nids = [nid] if failing is None else failing
        try:
            result = await _timed_request(self._bot, method)
            if isinstance(result, Message | MessageId):
                item.message_id = result.message_id
                item.message_ids.append(result.message_id)
            elif isinstance(result, list):  # copyMessages: an album
                item.message_ids += [m.message_id for m in result if isinstance(m, MessageId)]
            return None
        except TelegramBadRequest as exc:
            if not isinstance(method, EditMessageText):
                log.error("notification %s (%s) refused by Telegram: %s", nid, item.kind, exc)
                for failed in nids:
                    await self._settle_failed(
                        failed, f"{type(exc).__name__}: {exc}", permanent=True
                    )
                await self._client_failed(item, blocked=False, nids=nids)
            elif NOT_MODIFIED in str(exc):
                return None  # it already says this
            else:  # the message is gone or too old to edit: nothing new is sent
                log.info("notification %s: message not editable (%s)", nid, exc)
                reason = f"not editable: {exc}"
                await self._settle(
                    lambda ctx: outbox.mark_skipped(ctx, notification_id=nid, reason=reason)
                )
        except TelegramRetryAfter as exc:
            log.warning("flood control on notification %s: retry in %s s", nid, exc.retry_after)
            if exc.retry_after <= RETRY_IN_MEMORY_SECONDS:
                await asyncio.sleep(exc.retry_after)
                return "retry"
            for failed in nids:
                await self._give_back(failed, str(exc), exc.retry_after)
        except TelegramForbiddenError as exc:
            log.info("notification %s: the recipient blocked the bot", nid)
            error = str(exc)
            for failed in nids:
                await self._settle(
                    functools.partial(outbox.mark_blocked, notification_id=failed, error=error)
                )
            await self._client_failed(item, blocked=True, nids=nids)
        except UNREACHABLE as exc:
            now = time.monotonic()
            if now >= self._paused_until:  # a new round: requests failing together count once
                self._paused_until = now + self._outage_pause
                self._outage_pause = min(self._outage_pause * 2, OUTAGE_BACKOFF[1])
            pause = self._paused_until - now
            log.warning("Telegram unreachable (%s); retrying in %.1f s", exc, pause)
            for failed in nids:
                await self._give_back(failed, f"{type(exc).__name__}: {exc}", pause)
        except TelegramAPIError as exc:
            log.error("notification %s (%s) refused by Telegram: %s", nid, item.kind, exc)
            for failed in nids:
                await self._settle_failed(failed, f"{type(exc).__name__}: {exc}", permanent=True)
        except Exception as exc:  # e.g. an answer aiogram cannot read: retried, attempts counted
            log.exception("notification %s (%s): unexpected send error", nid, item.kind)
            for failed in nids:
                await self._settle_failed(failed, f"{type(exc).__name__}: {exc}")
        return "settled"

    async def _client_failed(self, item: _Item, *, blocked: bool, nids: list[int]) -> None:
        """A message to a client refused for good: failed on the timeline; a client who
        blocked the bot closes the conversation (core.conversations.delivery)."""
        if item.kind in CLIENT_KINDS:
            for nid in nids:
                await self._settle(
                    functools.partial(
                        client_delivery.record_failed, notification_id=nid, blocked=blocked
                    )
                )

    async def _give_back(self, nid: int, error: str, delay: float) -> None:
        await self._settle(
            lambda ctx: outbox.mark_failed(
                ctx, notification_id=nid, error=error, retry_after=delay, transient=True
            )
        )

    async def _settle_failed(self, nid: int, error: str, *, permanent: bool = False) -> None:
        await self._settle(
            lambda ctx: outbox.mark_failed(
                ctx, notification_id=nid, error=error, permanent=permanent
            )
        )

    async def _settle(self, use_case: Callable[[Ctx], Awaitable[Any]]) -> None:
        """Record an outcome, retrying a failing database for a while (the lease is longer)."""
        for attempt in range(6):
            try:
                await self._with_ctx(use_case)
                return
            except Exception:
                if attempt == 5:
                    log.exception("could not record a delivery outcome; the lease will retake it")
                    return
                await asyncio.sleep(0.2 * 2**attempt)

    async def _with_ctx(self, use_case: Callable[[Ctx], Awaitable[Any]]) -> Any:
        """Run a writing use case; on SQLite inside the process' writer turn when one is set
        (waiting in line there beats SQLite's busy-wait against a writer that never pauses)."""
        turn = self.write_turn() if self.write_turn is not None else contextlib.nullcontext()
        async with turn, session_scope(self._deps.sessions) as session:
            return await use_case(
                Ctx(session=session, config=self._deps.config, clock=self._deps.clock)
            )


class _OutsideOutbox(BaseRequestMiddleware):
    """Step 7: a request that produces or changes a message, made by anyone but the sender,
    spends the sender's budgets before it goes."""

    def __init__(self, sender: OutboxSender) -> None:
        self._sender = sender

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        if (
            not _FROM_OUTBOX.get()
            and name.startswith(_BUDGETED_PREFIXES)
            and name != "sendChatAction"
        ):
            await self._sender.spend(getattr(method, "chat_id", None))
        return await make_request(bot, method)


def _methods(rendered: Rendered) -> list[TelegramMethod[Any]]:
    """The requests for one rendered notification: an edit of an earlier message, or a
    document and/or text split to fit."""
    chat_id, markup = rendered.chat_id, rendered.reply_markup
    if rendered.methods:  # built by the renderer (client chats: copies of messages, media)
        return list(rendered.methods)
    if rendered.edit_message_id is not None:
        return [
            EditMessageText(
                chat_id=chat_id,
                message_id=rendered.edit_message_id,
                text=rendered.text,
                reply_markup=markup,
            )
        ]
    if rendered.document is not None:
        upload = BufferedInputFile(rendered.document, filename=rendered.filename or "file")
        text = rendered.text or ""
        if telegram_length(text) <= CAPTION_LIMIT:
            return [
                SendDocument(
                    chat_id=chat_id, document=upload, caption=text or None, reply_markup=markup
                )
            ]
        first: list[TelegramMethod[Any]] = [SendDocument(chat_id=chat_id, document=upload)]
        return first + _text_methods(chat_id, text, markup)
    return _text_methods(chat_id, rendered.text, markup)


def _text_methods(chat_id: int, text: str, markup: Any) -> list[TelegramMethod[Any]]:
    parts = split_html(text)
    return [
        SendMessage(chat_id=chat_id, text=part, reply_markup=markup if last else None)
        for last, part in ((i == len(parts) - 1, p) for i, p in enumerate(parts))
    ]


async def _timed_request(bot: Bot, method: TelegramMethod[Any]) -> Any:
    """One Bot API request, counted by result (ok, 429, 403, 4xx, 5xx, network) and timed."""
    started = time.perf_counter()
    result: SendResult | None = "ok"
    from_outbox = _FROM_OUTBOX.set(True)
    try:
        return await bot(method)
    except asyncio.CancelledError:
        result = None  # stopping: not an answer from Telegram
        raise
    except TelegramRetryAfter:
        result = "429"
        raise
    except TelegramForbiddenError:
        result = "403"
        raise
    except TelegramServerError:
        result = "5xx"
        raise
    except TelegramNetworkError:
        result = "network"
        raise
    except TelegramAPIError:
        result = "4xx"
        raise
    except Exception:
        result = "error"
        raise
    finally:
        _FROM_OUTBOX.reset(from_outbox)
        if result is not None:
            name = getattr(method, "__api_method__", type(method).__name__)
            telemetry().telegram_sent(name, result, time.perf_counter() - started)


def _time_screen_pop(row: Notification, now: datetime) -> None:
    """The pop went out: how long since its ringing webhook arrived (when this process
    applied that webhook)."""
    call_id = (row.payload or {}).get("call_id")
    received = pop_origins.take(call_id) if isinstance(call_id, int) else None
    if received is not None:
        telemetry().screen_pop_delivered((now - received).total_seconds())


async def _skip_all(ctx: Ctx, ids: list[int]) -> None:
    for nid in ids:
        await outbox.mark_skipped(ctx, notification_id=nid, reason="no recipient")


async def _interrupted(chat: _Chat, rank: int, delay: float) -> bool:
    """Wait `delay` seconds unless something ranked before `rank` comes to the chat first
    (True then)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + delay
    while not _more_urgent(chat.messages, rank) and (left := until - loop.time()) > 0:
        await chat.wait_arrival(left)
    return _more_urgent(chat.messages, rank)


def _peek(queue: asyncio.PriorityQueue[_Queued]) -> list[_Queued]:
    """What waits in the queue, left in it."""
    entries = [queue.get_nowait() for _ in range(queue.qsize())]
    for entry in entries:
        queue.put_nowait(entry)
    return entries


def _more_urgent(queue: asyncio.PriorityQueue[_Queued], rank: int) -> bool:
    """Something ranked before `rank` is waiting in the queue."""
    return any(entry[0] < rank for entry in _peek(queue))


def _take_kind(queue: asyncio.PriorityQueue[_Queued], kind: str, limit: int) -> list[_Item]:
    """Up to `limit` queued rows of `kind`, in claim order; the rest stay queued."""
    entries = [queue.get_nowait() for _ in range(queue.qsize())]
    entries.sort(key=lambda entry: entry[:2])
    taken: list[_Item] = []
    for entry in entries:
        if entry[2].kind == kind and len(taken) < limit:
            taken.append(entry[2])
        else:
            queue.put_nowait(entry)
    return taken


def _edited(row: Notification) -> int:
    """The notification whose message an edit row edits (its own id when it does not say)."""
    original = (row.payload or {}).get("of")
    return int(original) if isinstance(original, int) else row.id


def _drain(queue: asyncio.PriorityQueue[_Queued]) -> list[_Item]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait()[2])
    return items
