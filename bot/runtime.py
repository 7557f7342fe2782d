"""Bot runtime: the Bot on the configured API server, FSM storage, polling or webhook mode.

`BotRuntime.start()` returns at once; a background task asks `getMe` (retrying while Telegram
is unreachable), sets the command menus, then either registers the webhook or starts long
polling, and starts the outbox sender. `stop()` undoes it in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramNetworkError, TelegramServerError, TelegramUnauthorizedError
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommandScopeAllPrivateChats, BotCommandScopeDefault

from bot.delivery import OutboxSender, Renderer
from bot.deps import BotDeps
from bot.dispatcher import build_dispatcher, command_menus

log = logging.getLogger(__name__)

OFFICIAL_API_URL = "https://api.telegram.org"
WEBHOOK_PATH = "/telegram/webhook"
FSM_TTL = timedelta(days=7)  # a dialog abandoned for a week is forgotten


def create_bot(*, token: str, api_url: str = OFFICIAL_API_URL) -> Bot:
    """A Bot talking HTML to the official server, a self-hosted Bot API server or a test fake."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url.rstrip("/")))
    return Bot(
        token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )


def create_storage(redis_url: str | None) -> BaseStorage:
    """FSM state in Redis when configured (survives restarts, shared by instances), else memory."""
    if not redis_url:
        return MemoryStorage()
    from aiogram.fsm.storage.redis import RedisStorage

    return RedisStorage.from_url(
        redis_url,
        key_builder=DefaultKeyBuilder(prefix="perezvon:fsm"),
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

    @property
    def secret(self) -> str:
        return self.webhook_secret or derived_webhook_secret(self.token)

    @property
    def webhook_url(self) -> str:
        if not self.public_url:
            raise ValueError("webhook mode needs PEREZVON_PUBLIC_URL")
        return self.public_url.rstrip("/") + WEBHOOK_PATH


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
        self.ready = asyncio.Event()  # set once getMe answered and the mode is running
        self._startup: asyncio.Task[None] | None = None
        self._polling: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.options.mode == "webhook":
            self.options.webhook_url  # noqa: B018 - fail now, not in the background
        self._startup = asyncio.create_task(self._start_up(), name="bot-startup")

    async def wait_ready(self, within: float = 30.0) -> None:
        """Until started (tests, benchmarks); raises what the start-up raised."""
        async with asyncio.timeout(within):
            while not self.ready.is_set():
                if self._startup is not None and self._startup.done():
                    self._startup.result()
                await asyncio.sleep(0.01)

    async def _start_up(self) -> None:
        delay = 1.0
        while True:
            try:
                me = await self.bot.get_me()
                break
            except TelegramUnauthorizedError:
                log.error("Telegram refused the bot token (401): check PEREZVON_TELEGRAM_TOKEN")
                raise
            except (TelegramNetworkError, TelegramServerError) as exc:
                log.warning("Telegram unreachable at start (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
        self.deps.bot_username = me.username
        await self.set_commands()
        allowed = self.dispatcher.resolve_used_update_types()
        if self.options.mode == "webhook":
            await self.bot.set_webhook(
                self.options.webhook_url,
                secret_token=self.options.secret,
                allowed_updates=allowed,
            )
            log.info("bot @%s: webhook %s", me.username, self.options.webhook_url)
        else:
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._polling = asyncio.create_task(
                self.dispatcher.start_polling(
                    self.bot,
                    handle_signals=False,
                    close_bot_session=False,
                    allowed_updates=allowed,
                ),
                name="bot-polling",
            )
            log.info("bot @%s: long polling %s", me.username, self.options.api_url)
        await self.sender.start()
        self.ready.set()

    async def set_commands(self) -> None:
        """The command menu per language (private chats), the default language's for the rest."""
        menus = command_menus()
        for language, commands in menus.items():
            await self.bot.set_my_commands(
                commands, scope=BotCommandScopeAllPrivateChats(), language_code=language
            )
        default = menus.get(self.deps.default_locale)
        if default:
            await self.bot.set_my_commands(default, scope=BotCommandScopeDefault())

    async def stop(self) -> None:
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
