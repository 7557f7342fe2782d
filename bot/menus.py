"""The command menu and /help per role: sales people are not offered what they may not use.

1. `MENUS[role]` names the commands of a role's menu, in order; descriptions come from the
   locale files (`menu-role-<name>` where a role-neutral wording exists, else `menu-<name>`).
2. Everyone's chats get the sales menu by default; each active employee's own chat gets their
   role's menu (`BotCommandScopeChat`) at start-up, when their role changes and when they are
   switched back on (bot/runtime.py, bot/handlers/team.py).
3. `/help` is the sales help, plus the manager's lines, plus the admin's lines.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat

from bot.i18n import LOCALES, Texts, texts
from core.users.models import User

log = logging.getLogger(__name__)

_SALES = ("today", "week", "deals", "find", "targets", "export", "lang", "help")
_MANAGER = (
    "today",
    "week",
    "deals",
    "find",
    "targets",
    "export",
    "report",
    "digest",
    "team",
    "lang",
    "help",
)
MENUS = {
    "sales": _SALES,
    "manager": _MANAGER,
    "admin": (*_MANAGER[:-2], "invite", "lang", "help"),
}


def command_menu(locale: str, role: str) -> list[BotCommand]:
    """The menu of one role in one language (an unknown role gets the sales menu)."""
    t = texts(locale)
    return [
        BotCommand(command=name, description=_description(t, name))
        for name in MENUS.get(role, _SALES)
    ]


def _description(t: Texts, name: str) -> str:
    return t("menu-role-" + name) if t.has("menu-role-" + name) else t("menu-" + name)


def command_menus(role: str = "admin") -> dict[str, list[BotCommand]]:
    """One role's menu per language code, for setMyCommands."""
    return {locale: command_menu(locale, role) for locale in LOCALES}


def help_text(t: Texts, role: str) -> str:
    """What the bot can do for this role."""
    lines = [t("help-role-sales")]
    if role in ("manager", "admin"):
        lines.append(t("help-role-manager"))
    if role == "admin":
        lines.append(t("help-role-admin"))
    return "\n".join(lines)


async def set_menu_for(bot: Bot, user: User) -> None:
    """Give one employee's chat the menu of their role; Telegram refusing it is only logged."""
    if user.telegram_user_id is None or not user.active:
        return
    with contextlib.suppress(TelegramAPIError):
        await bot.set_my_commands(
            command_menu(user.locale, user.role),
            scope=BotCommandScopeChat(chat_id=user.telegram_user_id),
        )
        return
    log.warning("Telegram refused the command menu for user %s", user.id)
