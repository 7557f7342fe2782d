"""Bot fixtures: the fake Bot API server, the real aiogram Bot pointed at it, deps, dispatcher;
`tg` bundles them with `db` for a test that drives the bot, `sender` runs the real outbox
sender (`make_sender` makes senders over a module's own `deps`), `read_api` is the REST API with a
read-only key, and `employee(...)` makes a module's people fixtures
(`seller = employee(SELLER_TG)`).

FSM state lives in memory, or in Redis when PEREZVON_TEST_REDIS_URL is set (each test gets its
own key prefix and removes its keys).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from itertools import count
from typing import Any

import httpx
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.http import create_app
from bot.delivery import OutboxSender
from bot.deps import BotDeps
from bot.dispatcher import build_dispatcher
from bot.notifications import render
from bot.runtime import create_bot
from core.calls import service as calls
from core.config import CoreConfig
from core.contacts import service as contacts
from core.context import Actor
from core.models import Contact, Notification, User
from core.outbox import service as outbox
from core.users import api_keys
from telephony_webhooks.context import WebContext
from tests.bot.updates import TgUser
from tests.conftest import Db
from tests.factories import call_event
from tests.fakes.clock import FakeClock
from tests.fakes.telegram_api import TOKEN, Call, FakeTelegram

REDIS_URL = os.environ.get("PEREZVON_TEST_REDIS_URL")

Feed = Callable[[dict[str, Any]], Awaitable[Any]]


async def close_bot(bot: Bot) -> None:
    """Close the bot's HTTP session without AiohttpSession.close()'s 0.25 s TLS grace sleep."""
    session = bot.session
    if isinstance(session, AiohttpSession) and session._session is not None:
        await session._session.close()
    else:
        await session.close()


@pytest.fixture
async def tg_bot(fake_tg: FakeTelegram) -> AsyncIterator[Bot]:
    bot = create_bot(token=TOKEN, api_url=fake_tg.url)
    yield bot
    await close_bot(bot)


@pytest.fixture
async def fsm_storage() -> AsyncIterator[BaseStorage]:
    if not REDIS_URL:
        storage: BaseStorage = MemoryStorage()
        yield storage
        await storage.close()
        return
    from aiogram.fsm.storage.base import DefaultKeyBuilder
    from aiogram.fsm.storage.redis import RedisStorage

    prefix = f"test-fsm-{uuid.uuid4().hex[:12]}"
    redis_storage = RedisStorage.from_url(
        REDIS_URL, key_builder=DefaultKeyBuilder(prefix=prefix, with_destiny=True)
    )
    yield redis_storage
    keys = [key async for key in redis_storage.redis.scan_iter(f"{prefix}:*")]
    if keys:
        await redis_storage.redis.delete(*keys)
    await redis_storage.close()


@pytest.fixture
def bot_deps(
    sessions: async_sessionmaker[AsyncSession],
    config: CoreConfig,
    clock: FakeClock,
    fake_tg: FakeTelegram,
) -> BotDeps:
    return BotDeps(sessions=sessions, config=config, clock=clock, bot_username=fake_tg.username)


@pytest.fixture
def dispatcher(bot_deps: BotDeps, fsm_storage: BaseStorage) -> Dispatcher:
    return build_dispatcher(bot_deps, storage=fsm_storage)


@pytest.fixture
def feed(dispatcher: Dispatcher, tg_bot: Bot) -> Feed:
    """Feed one raw update (a dict as Telegram sends it); every handler has run when it returns."""
    ids = count(1000)

    async def feed_update(update: dict[str, Any]) -> Any:
        if "update_id" not in update:
            update = {"update_id": next(ids), **update}
        return await dispatcher.feed_raw_update(tg_bot, update)

    return feed_update


@pytest.fixture
async def sender(tg_bot: Bot, bot_deps: BotDeps) -> AsyncIterator[OutboxSender]:
    """The real outbox sender, running (a module that needs another pace defines its own)."""
    running = OutboxSender(tg_bot, bot_deps, poll_interval=0.02, per_chat_burst=50)
    await running.start()
    yield running
    await running.stop()


MakeSender = Callable[..., OutboxSender]


@pytest.fixture
def sender_defaults() -> dict[str, Any]:
    """The options each `make_sender()` sender gets unless the call says otherwise (a module
    may override this fixture)."""
    return {"poll_interval": 0.05}


@pytest.fixture
async def make_sender(
    tg_bot: Bot, deps: BotDeps, sender_defaults: dict[str, Any]
) -> AsyncIterator[MakeSender]:
    """Senders over the module's `deps` fixture, stopped at the end of the test (start them
    yourself)."""
    made: list[OutboxSender] = []

    def make(**options: Any) -> OutboxSender:
        sender = OutboxSender(tg_bot, deps, **{**sender_defaults, **options})
        made.append(sender)
        return sender

    yield make
    for sender in made:
        await sender.stop()


@pytest.fixture
async def read_api(db: Db) -> AsyncIterator[httpx.AsyncClient]:
    """The REST API as an integration holding a read-only key sees it."""
    async with db.ctx() as ctx:
        _key, plain = await api_keys.create(ctx, actor=Actor.system("t"), name="bi", role="read")
    app = create_app(WebContext(sessions=db.sessions, config=db.config, clock=db.clock))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test/api/v1",
        headers={"Authorization": f"Bearer {plain}"},
    ) as http:
        yield http


@pytest.fixture
async def anna(db: Db, seller: User) -> Contact:
    """A client of the module's `seller` (each flow module defines its seller)."""
    async with db.ctx() as ctx:
        return await contacts.create_contact(
            ctx, actor=Actor.of_user(seller), name="Анна", phones=["+79161234567"]
        )


@dataclass(frozen=True)
class Tg:
    """The bot as a flow test drives it: people who talk to it, the PBX, and the outbox sent."""

    db: Db
    feed: Feed
    fake: FakeTelegram
    bot: Bot
    deps: BotDeps

    def user(self, telegram_id: int, first_name: str = "Иван", language_code: str = "ru") -> TgUser:
        """A person in Telegram (the employee or client with that Telegram id)."""
        return TgUser(self.feed, self.fake, telegram_id, first_name, language_code)

    async def employee(self, telegram_id: int, **person: Any) -> User:
        """An employee with that Telegram id (`role`, `name`, … as `make_user` takes)."""
        return await self.db.user(telegram_id=telegram_id, **person)

    async def pbx(self, call_id: str, kind: str, **fields: Any) -> None:
        """What the inbox processor does with one normalized PBX event."""
        async with self.db.ctx() as ctx:
            await calls.apply_event(ctx, event=call_event(self.db.clock, call_id, kind, **fields))

    async def deliver(self, kind: str | None = None) -> list[Call]:
        """Send what the outbox holds (of one `kind`, or all that are due), rendered by
        bot.notifications, as the sender would; the Bot API calls that made."""
        before = len(self.fake.calls)
        async with self.db.ctx() as ctx:
            if kind is None:
                rows = await outbox.claim(ctx, limit=100)
            else:
                query = select(Notification).where(Notification.kind == kind)
                rows = list(await ctx.session.scalars(query.order_by(Notification.id)))
            for row in rows:
                message = await render(ctx.session, self.deps, row)
                assert message is not None or kind is None, row
                if message is not None:
                    await self.bot.send_message(
                        message.chat_id, message.text, reply_markup=message.reply_markup
                    )
                if kind is None:
                    await outbox.mark_sent(ctx, notification_id=row.id)
        return self.fake.calls[before:]


@pytest.fixture
def tg(db: Db, feed: Feed, fake_tg: FakeTelegram, tg_bot: Bot, bot_deps: BotDeps) -> Tg:
    return Tg(db=db, feed=feed, fake=fake_tg, bot=tg_bot, deps=bot_deps)


def employee(telegram_id: int, **person: Any) -> Any:
    """A module's fixture for an employee in Telegram, named as it is assigned:
    `seller = employee(SELLER_TG)`, `manager = employee(MANAGER_TG, role="manager")`."""

    @pytest.fixture
    async def person_fixture(tg: Tg) -> User:
        return await tg.employee(telegram_id, **person)

    return person_fixture
