"""Bot runtime: the Bot on the configured API server, FSM storage, polling or webhook mode.

1. `BotRuntime.start()` returns at once; a background task asks `getMe`, sets the command
   menus (the sales menu for all chats, each employee's role menu for their chat), then
   registers the webhook or deletes it and starts long polling, and starts the outbox sender.
   `stop()` undoes it in reverse.
2. Each of those calls is repeated until Telegram answers: network errors, timeouts, 5xx,
   bodies that are not a Bot API answer (a proxy's HTML 502 page, an empty body) and 429 are
   waited out (1 s doubling to 60 s, or the `retry_after` Telegram gives), each wait logged
   with what it waits for: "Telegram answered 502 (not JSON) to getMe; retrying in 2 s".
3. A token Telegram refuses (401/404 from getMe) is final: one error line naming
   PEREZVON_TELEGRAM_TOKEN. A refused command menu is logged and skipped; any other refusal
   (a webhook URL Telegram will not take) stops the bot with a line saying why.
4. Long polling retries failed `getUpdates` itself (aiogram's backoff); if it ever ends, that
   is logged. `status` says "connecting", "ok" or "stopped" (for `/readyz`).
5. No log line holds the token: the session masks it in every error (bot/telegram_session.py)
   and the lines written here mask it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, TypeVar

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.fsm.storage.base import DEFAULT_DESTINY, BaseStorage, DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommandScopeAllPrivateChats, BotCommandScopeDefault
from aiogram.utils.backoff import BackoffConfig

from bot.delivery import OutboxSender, Renderer
from bot.deps import BotDeps
from bot.dispatcher import build_dispatcher
from bot.menus import command_menus, set_menu_for
from bot.telegram_session import BOT_REFUSED, NO_ANSWER, TelegramBadAnswer, guarded_session, masked
from core.context import Ctx
from core.users import service as users

log = logging.getLogger(__name__)

OFFICIAL_API_URL = "https://api.telegram.org"
WEBHOOK_PATH = "/telegram/webhook"
FSM_TTL = timedelta(days=7)  # a dialog abandoned for a week is forgotten
T = TypeVar("T")
STAFF_MENUS = 500  # chats given a role's menu at start-up (a small team's whole staff)


def create_bot(*, token: str, api_url: str = OFFICIAL_API_URL) -> Bot:
    """A Bot talking HTML to the official server, a self-hosted Bot API server or a test fake;
    its failures are readable aiogram errors without the token (bot/telegram_session.py)."""
    return Bot(
        token=token,
        session=guarded_session(api_url),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


class FsmKeys(DefaultKeyBuilder):
    """Redis keys as before for the dialog state; another destiny (the open card of
    bot/handlers/documents.py) gets its own key with the destiny in it."""

    def __init__(self, prefix: str) -> None:
        super().__init__(prefix=prefix)
        self._with_destiny = DefaultKeyBuilder(prefix=prefix, with_destiny=True)

    def build(self, key: StorageKey, part: Literal["data", "state", "lock"] | None = None) -> str:
        if key.destiny == DEFAULT_DESTINY:
            return super().build(key, part)
        return self._with_destiny.build(key, part)


def create_storage(redis_url: str | None) -> BaseStorage:
    """FSM state in Redis when configured (survives restarts, shared by instances), else memory."""
    if not redis_url:
        return MemoryStorage()
    from aiogram.fsm.storage.redis import RedisStorage

    return RedisStorage.from_url(
        redis_url,
        key_builder=FsmKeys(prefix="perezvon:fsm"),
        state_ttl=FSM_TTL,
        data_ttl=FSM_TTL,
    )


def derived_webhook_secret(token: str) -> str:
    """A secret-token header value derived from the bot token, for when none is configured:
    the same on every instance, unguessable without the token, and in Telegram's alphabet."""
    return hashlib.sha256(b"perezvon-telegram-webhook:" + token.encode()).hexdigest()


@dataclass(frozen=True)
class BotOptions:
    token: str
    api_url: str = OFFICIAL_API_URL
    mode: Literal["polling", "webhook"] = "polling"
    public_url: str | None = None
    webhook_secret: str | None = None
    redis_url: str | None = None
    rate: float = 25.0
    poll_interval: float = 0.1
    retry_delays: tuple[float, float] = (1.0, 60.0)  # first and longest wait for Telegram

    @property
    def secret(self) -> str:
        return self.webhook_secret or derived_webhook_secret(self.token)

    @property
    def webhook_url(self) -> str:
        if not self.public_url:
            raise ValueError("webhook mode needs PEREZVON_PUBLIC_URL")
        return self.public_url.rstrip("/") + WEBHOOK_PATH


POLLING_CONCURRENCY = 32  # updates handled at once in polling mode (see start())


class BotRuntime:
    """The bot, its dispatcher and its outbox sender, in polling or webhook mode."""

    def __init__(
        self,
        options: BotOptions,
        deps: BotDeps,
        *,
        bot: Bot | None = None,
        storage: BaseStorage | None = None,
        render: Renderer | None = None,
    ) -> None:
        self.options = options
        self.deps = deps
        # What the caller passed in, the caller closes.
        self._owns = (bot is None, storage is None)
        self.bot = bot or create_bot(token=options.token, api_url=options.api_url)
        self.storage = storage or create_storage(options.redis_url)
        self.dispatcher: Dispatcher = build_dispatcher(deps, storage=self.storage)
        self.sender = OutboxSender(
            self.bot, deps, rate=options.rate, poll_interval=options.poll_interval, render=render
        )
        # Handlers' answers spend the sender's budgets too (bot/delivery.py step 7).
        self.bot.session.middleware(self.sender.budget_middleware())
        self.ready = asyncio.Event()  # set once getMe answered and the mode is running
        self._startup: asyncio.Task[None] | None = None
        self._polling: asyncio.Task[None] | None = None
        self._stopped_for: str | None = None  # why the bot is not running any more
        self._stopping = False

    @property
    def status(self) -> str:
        """For /readyz: "ok" (updates flow), "connecting" (waiting for Telegram to answer) or
        "stopped" (start-up gave up, e.g. on a refused token, or polling ended)."""
        if self._stopped_for is not None:
            return "stopped"
        if self.ready.is_set():
            return "ok"
        return "connecting"

    async def start(self) -> None:
        if self.options.mode == "webhook":
            self.options.webhook_url  # noqa: B018 - fail now, not in the background
        self._startup = asyncio.create_task(self._start_up(), name="bot-startup")
        self._startup.add_done_callback(self._start_up_ended)

    async def wait_ready(self, within: float = 30.0) -> None:
        """Until started (tests, benchmarks); raises what the start-up raised."""
        async with asyncio.timeout(within):
            while not self.ready.is_set():
                if self._startup is not None and self._startup.done():
                    self._startup.result()
                await asyncio.sleep(0.01)

    async def _start_up(self) -> None:
        try:
            me = await self._until_answered("getMe", self.bot.me)
        except BOT_REFUSED as exc:
            self._stopped_for = "refused token"
            status = 401 if isinstance(exc, TelegramUnauthorizedError) else 404
            log.error("Telegram refused the bot token (%s): check PEREZVON_TELEGRAM_TOKEN", status)
            raise
        self.deps.bot_username = me.username
        await self.set_commands()
        allowed = self.dispatcher.resolve_used_update_types()
        if self.options.mode == "webhook":
            url = self.options.webhook_url
            await self._until_answered(
                "setWebhook",
                lambda: self.bot.set_webhook(
                    url, secret_token=self.options.secret, allowed_updates=allowed
                ),
            )
            log.info("bot @%s: webhook %s", me.username, url)
        else:
            await self._until_answered(
                "deleteWebhook", lambda: self.bot.delete_webhook(drop_pending_updates=False)
            )
            self._polling = asyncio.create_task(
                self.dispatcher.start_polling(
                    self.bot,
                    handle_signals=False,
                    close_bot_session=False,
                    allowed_updates=allowed,
                    backoff_config=self._polling_backoff(),
                    # Bounded, the rest wait in Telegram's queue. 32, not 8: a backlog of
                    # Business messages is logged by one group commit of those in flight
                    # (bench/chats.py business, SQLite: 356–383 → 491–535 logged/s); webhook
                    # mode runs up to 64 (bot/webhook.py). A burst of team or client updates
                    # beyond the database pool waits for a connection, it does not fail.
                    tasks_concurrency_limit=POLLING_CONCURRENCY,
                ),
                name="bot-polling",
            )
            self._polling.add_done_callback(self._polling_ended)
            log.info("bot @%s: long polling %s", me.username, self.options.api_url)
        await self.sender.start()
        self.ready.set()

    def _polling_backoff(self) -> BackoffConfig:
        """aiogram's polling backoff (1 s up to 5 s), scaled to the configured first wait."""
        first = self.options.retry_delays[0]
        return BackoffConfig(min_delay=first, max_delay=first * 5, factor=1.3, jitter=0.1)

    async def _until_answered(self, method: str, call: Callable[[], Awaitable[T]]) -> T:
        """`call()` until Telegram answers: network errors, timeouts, 5xx, unreadable answers
        (an HTML error page) and 429 are waited out with a log line naming the wait; any other
        refusal is raised."""
        first, longest = self.options.retry_delays
        delay = first
        while True:
            try:
                return await call()
            except TelegramRetryAfter as exc:
                wait = float(exc.retry_after)
                why = f"Telegram asked to wait {exc.retry_after} s before {method} (429)"
            except NO_ANSWER as exc:
                wait, delay = delay, min(delay * 2, longest)
                why = _why_unanswered(exc, method)
            log.warning("%s; retrying in %s s", masked(why, self.options.token), _seconds(wait))
            await asyncio.sleep(wait)

    def _start_up_ended(self, task: asyncio.Task[None]) -> None:
        """A start-up that failed is logged here, not swallowed with its task."""
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        if self._stopped_for is None:
            self._stopped_for = "start-up failed"
            text = masked(f"{type(error).__name__}: {error}", self.options.token)
            log.error("the bot could not start and stopped: %s", text)

    def _polling_ended(self, task: asyncio.Task[None]) -> None:
        """Long polling runs until `stop()`; ending any other way stops the bot, loudly."""
        if self._stopping:
            return
        self._stopped_for = "polling ended"
        error = None if task.cancelled() else task.exception()
        if error is None:
            log.error("the bot stopped: long polling ended")
        else:
            text = masked(f"{type(error).__name__}: {error}", self.options.token)
            log.error("the bot stopped: long polling failed: %s", text)

    async def set_commands(self) -> None:
        """The sales menu per language (private chats), the default language's for the rest;
        then each active employee's own chat gets their role's menu (bot/menus.py).
        A menu Telegram refuses is logged and skipped: the bot works without it."""
        menus = command_menus("sales")
        calls: list[tuple[str, Callable[[], Awaitable[bool]]]] = [
            (
                language,
                functools.partial(
                    self.bot.set_my_commands,
                    commands,
                    scope=BotCommandScopeAllPrivateChats(),
                    language_code=language,
                ),
            )
            for language, commands in menus.items()
        ]
        default = menus.get(self.deps.default_locale)
        if default:
            calls.append(
                (
                    "default",
                    functools.partial(self.bot.set_my_commands, default, BotCommandScopeDefault()),
                )
            )
        for language, call in calls:
            try:
                await self._until_answered("setMyCommands", call)
            except TelegramAPIError as exc:
                log.warning(
                    "Telegram refused the %s command menu: %s",
                    language,
                    masked(str(exc), self.options.token),
                )
        await self._set_staff_menus()

    async def _set_staff_menus(self) -> None:
        """Each active employee's chat gets the menu of their role."""
        try:
            async with self.deps.sessions() as session:
                ctx = Ctx(session=session, config=self.deps.config, clock=self.deps.clock)
                staff = (await users.list_users(ctx, active_only=True, limit=STAFF_MENUS)).items
        except Exception as exc:  # the database may be late; the default menu still works
            log.warning("role menus not set: %s", type(exc).__name__)
            return
        for person in staff:
            await set_menu_for(self.bot, person)

    async def stop(self) -> None:
        self._stopping = True
        if self._startup is not None and not self._startup.done():
            self._startup.cancel()
        if self._startup is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._startup
        await self.sender.stop()
        if self._polling is not None:
            if not self._polling.done():
                with contextlib.suppress(RuntimeError):
                    await self.dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._polling, timeout=5)
            self._polling = None
        if self._owns[1]:
            await self.storage.close()
        if self._owns[0]:
            await self.bot.session.close()


def _why_unanswered(error: TelegramAPIError, method: str) -> str:
    """What went wrong, in words an operator can act on."""
    if isinstance(error, TelegramBadAnswer):
        return str(error)  # "Telegram answered 502 (not JSON) to getMe"
    if isinstance(error, TelegramServerError):
        return f"Telegram answered a server error to {method} ({error.message})"
    return f"Telegram unreachable for {method} ({error.message})"


def _seconds(value: float) -> str:
    return f"{value:g}"
