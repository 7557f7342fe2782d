"""The request a team member's update makes: one object a handler takes instead of five.

1. `UserMiddleware` (bot/middlewares.py) builds it once the sender is known to be an active
   member of the team (or edits a message as one) and hands it to handlers as `request`,
   beside the old separate keys (`ctx`, `t`, `actor`, `user`, `deps`) that the client-facing
   handlers still take.
2. A handler that serves only the team asks for `request: Request`; a client, a stranger or
   a Business update never has one, so such a handler is never called for them (aiogram
   passes only the keys a handler names, and a missing one is an error, as before).
3. It carries nothing of its own: the unit of work (`ctx`), the texts in the user's
   language (`t`), who asks (`user`, `actor`) and the bot's facts (`deps`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.deps import BotDeps
from bot.i18n import Texts
from core.context import Actor, Ctx
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
