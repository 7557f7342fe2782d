"""What an update brings a handler: one object by who sent it, instead of its parts one by one.

1. `UserMiddleware` (bot/middlewares.py) builds one of three, by who is behind the update:
   - `request: Request`: an active member of the team (a message, a button, an edit);
   - `client: ClientRequest`: anyone not on the team who writes to the bot (a client);
   - `business_update: BusinessUpdate`: a Telegram Business update (a salesperson's own chat,
     read and logged, never answered).
2. A handler asks for the one it serves, and the routers' filters decide who reaches it: a
   team handler names `request`, which a client, a stranger or a Business update never has,
   so it is never called for them (aiogram passes only the keys a handler names, and a
   missing one is an error). `/start` and `/stop` also answer a switched-off account, which
   has neither: they take the session and texts one by one, with `request` and `client`
   optional (bot/handlers/start.py).
3. None carries anything of its own: the unit of work (`ctx`), the texts in the person's
   language (`t`), who asks (a team member's `user` and `actor`; a client's Telegram `person`)
   and the bot's facts (`deps`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.deps import BotDeps
from bot.i18n import Texts
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.conversations import clients
from core.conversations.business_writer import BusinessLogWriter
from core.conversations.clients import TelegramPerson
from core.users.models import User


@dataclass(frozen=True, slots=True)
class Request:
    """A team member's update: the unit of work, their texts, who they are, the bot's facts."""

    ctx: Ctx
    t: Texts
    user: User
    actor: Actor
    deps: BotDeps

    @property
    def timezone(self) -> str:
        """The user's zone: dates are read and shown in it."""
        return self.user.timezone

    def now(self) -> datetime:
        """Now, by the injected clock (aware UTC)."""
        return self.ctx.clock.now()


@dataclass(frozen=True, slots=True)
class ClientRequest:
    """A client's update (someone not on the team): the unit of work, their texts, who they
    are on Telegram, the bot's facts."""

    ctx: Ctx
    t: Texts
    person: TelegramPerson
    deps: BotDeps

    async def contact(self) -> Contact | None:
        """The contact the bot knows this client as (None: not matched yet)."""
        return await clients.contact_by_telegram_user(
            self.ctx, telegram_user_id=self.person.user_id
        )


@dataclass(frozen=True, slots=True)
class BusinessUpdate:
    """A Telegram Business update: the unit of work and the process' group commit of the
    chats' messages (bot/handlers/business.py). No texts: nothing is sent from here."""

    ctx: Ctx
    log: BusinessLogWriter
