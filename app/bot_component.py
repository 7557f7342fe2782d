"""The Telegram bot as a component of `perezvon run` (registered in app/components.py).

In webhook mode its route is mounted on the HTTP app (`routers()`) and the updates it has
answered finish before the bot stops; `/readyz` reports `readiness()` ("connecting" until
Telegram has answered); a commit that adds notifications anywhere in this process wakes its
outbox sender (`watch_commits`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram.exceptions import TelegramAPIError
from fastapi import APIRouter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.components import Component
from app.settings import Settings
from app.wiring import Container
from bot import webhook
from bot.deps import BotDeps
from bot.runtime import BotOptions, BotRuntime, create_bot
from core.db import session_factory


async def bot_username(settings: Settings) -> str | None:
    """The bot's @username from getMe (for deep links), or None without a token or Telegram."""
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        return None
    bot = create_bot(
        token=settings.telegram_token.get_secret_value(), api_url=settings.telegram_api_url
    )
    try:
        me = await bot.get_me(request_timeout=5)
        return me.username
    except (TelegramAPIError, TimeoutError):
        return None
    finally:
        await bot.session.close()


class BotComponent(Component):
    """The bot's runtime and outbox sender, bracketed by `start()` / `stop()`."""

    name = "bot"

    def __init__(
        self,
        container: Container,
        *,
        poll_interval: float = 0.1,
        retry_delays: tuple[float, float] = (1.0, 60.0),
        **runtime_options: Any,
    ) -> None:
        settings = container.settings
        assert settings.telegram_token is not None
        secret = settings.telegram_webhook_secret
        options = BotOptions(
            token=settings.telegram_token.get_secret_value(),
            api_url=settings.telegram_api_url,
            mode=settings.telegram_mode,
            public_url=settings.public_url,
            webhook_secret=secret.get_secret_value() if secret else None,
            redis_url=settings.redis_url,
            rate=settings.telegram_rate,
            poll_interval=poll_interval,
            retry_delays=retry_delays,
        )
        deps = BotDeps(
            sessions=container.sessions,
            config=container.config,
            clock=container.clock,
            default_locale=settings.locale,
            bulk_sessions=session_factory(container.bulk_engine) if container.bulk_engine else None,
            read_sessions=session_factory(container.read_engine) if container.read_engine else None,
        )
        self.runtime = BotRuntime(options, deps, **runtime_options)
        self.webhook: webhook.WebhookReceiver | None = None
        if options.mode == "webhook":
            runtime = self.runtime
            self.webhook = webhook.WebhookReceiver(
                bot=runtime.bot,
                dispatcher=runtime.dispatcher,
                secret=options.secret,
                claim=webhook.claim_in(deps, bot_id=runtime.bot.id),
            )
        self._unwatch: list[Callable[[], None]] = []
        for engine in (container.engine, container.bulk_engine):
            if engine is not None:
                self._unwatch.append(watch_commits(engine, self.runtime.sender.wake))

    def routers(self, container: Container | None = None) -> list[APIRouter]:
        """The webhook route in webhook mode; nothing in polling mode."""
        return [] if self.webhook is None else [self.webhook.router()]

    async def start(self, container: Container | None = None) -> None:
        """Start polling or set the webhook, and the outbox sender; on SQLite the sender's
        writes take turns with the PBX inbox writer's (`Container.write_turn`)."""
        if container is not None and container.write_turn is not None:
            self.runtime.sender.write_turn = container.write_turn
        await self.runtime.start()

    async def stop(self) -> None:
        if self.webhook is not None:  # updates answered already: let their handlers finish
            await self.webhook.drain()
        for unwatch in self._unwatch:
            unwatch()
        await self.runtime.stop()

    def readiness(self) -> str:
        """ "ok" once Telegram answered and updates flow; "connecting" or "stopped" before."""
        return self.runtime.status


def watch_commits(engine: AsyncEngine, wake: Callable[[], None]) -> Callable[[], None]:
    """Call `wake` once a commit that inserted notifications on `engine` has completed (when its
    connection goes back to the pool: the "commit" event comes before the commit itself, and a
    claim woken then could miss the rows). Returns an undo."""
    sync_engine = engine.sync_engine
    inserted, committed = "perezvon_notified", "perezvon_notified_committed"

    def after_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:25].upper().startswith("INSERT INTO NOTIFICATIONS"):
            conn.info[inserted] = True

    def on_commit(conn: Any) -> None:
        if conn.info.pop(inserted, False):
            conn.info[committed] = True

    def on_rollback(conn: Any) -> None:
        conn.info.pop(inserted, None)

    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(committed, False):
            wake()

    listeners: list[tuple[Any, str, Callable[..., None]]] = [
        (sync_engine, "after_cursor_execute", after_execute),
        (sync_engine, "commit", on_commit),
        (sync_engine, "rollback", on_rollback),
        (sync_engine.pool, "checkin", on_checkin),
    ]
    for target, name, listener in listeners:
        event.listen(target, name, listener)

    def undo() -> None:
        for target, name, listener in listeners:
            if event.contains(target, name, listener):
                event.remove(target, name, listener)

    return undo
