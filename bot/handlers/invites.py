"""/invite with the role as people say it and the expiry in the admin's zone; /help per role.

1. `/invite` alone invites a salesperson; «/invite продавец», «менеджер», «админ» and the
   English names are read by core (`users.parse_role`); an unknown name gets the valid ones.
2. The invite states when it stops working, in the admin's own zone, with the weekday.
3. `/help` tells each role what it can do: sales people are not offered /team, /invite,
   /report or /digest; asking for help also refreshes the chat's command menu for the role.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.deps import BotDeps
from bot.keyboards import main_keyboard
from bot.menus import help_text, set_menu_for
from bot.request import Request
from bot.views.format import day_and_time, esc
from core.errors import InvalidInput
from core.users import service as users


def _link(deps: BotDeps, code: str) -> str | None:
    return f"https://t.me/{deps.bot_username}?start={code}" if deps.bot_username else None


async def invite(message: Message, command: CommandObject, request: Request) -> None:
    """/invite [role]: a one-time code and link, with when it stops working."""
    t = request.t
    typed = (command.args or "").strip()
    try:
        role = users.parse_role(typed) if typed else "sales"
    except InvalidInput:
        await message.answer(t("invite-unknown-role", role=esc(typed[:40])))
        return
    created = await users.create_invite(request.ctx, actor=request.actor, role=role)
    link = _link(request.deps, created.code)
    await message.answer(
        t(
            "invite-made-until",
            role=t("role-" + role),
            until=day_and_time(t, created.expires_at, request.timezone),
            code=esc(created.code),
            link=esc(link) if link else t("invite-no-link"),
        )
    )


async def help_(message: Message, request: Request) -> None:
    """/help: what the user's role can do; the chat's command menu refreshed for it."""
    await message.answer(
        help_text(request.t, request.user.role), reply_markup=main_keyboard(request.t)
    )
    if message.bot is not None:
        await set_menu_for(message.bot, request.user)


def router() -> Router:
    r = Router(name="invites")
    r.message.register(invite, Command("invite"))
    r.message.register(help_, Command("help"))
    return r
