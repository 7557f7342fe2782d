"""Builds a fresh Dispatcher with every feature router and middleware."""

from __future__ import annotations

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommand

from bot.deps import BotDeps
from bot.handlers import (
    calls,
    contacts,
    deals,
    dialogs,
    fallback,
    plan,
    reports,
    search,
    spreadsheets,
    start,
    team,
)
from bot.i18n import LOCALES, texts
from bot.middlewares import (
    CallbackAnswerMiddleware,
    ErrorMiddleware,
    SessionMiddleware,
    UserMiddleware,
)

# Commands in the menu (setMyCommands), in order; descriptions come from the locale files.
MENU = ("today", "week", "deals", "export", "report", "digest", "team", "invite", "lang", "help")


def build_dispatcher(deps: BotDeps, *, storage: BaseStorage | None = None) -> Dispatcher:
    """A new Dispatcher (routers are built by factories, so tests may build many)."""
    dp = Dispatcher(storage=storage or MemoryStorage())
    dp["deps"] = deps
    dp.update.outer_middleware(ErrorMiddleware())
    dp.update.outer_middleware(SessionMiddleware())
    dp.update.outer_middleware(UserMiddleware())
    dp.callback_query.middleware(CallbackAnswerMiddleware())
    # Text a flow waits for never matches a command or a reply-keyboard caption (FREE_TEXT),
    # so those work in any state; a reply to a card comes before flows; search and the
    # fallback come last.
    for factory in (
        dialogs.router,  # first: «отмена» and menu buttons mid-dialog before any flow
        start.router,
        team.router,
        contacts.router,
        plan.router,
        deals.router,
        calls.router,
        reports.router,
        spreadsheets.router,
        search.router,
        fallback.router,
    ):
        dp.include_router(factory())
    return dp


def command_menus() -> dict[str, list[BotCommand]]:
    """The command menu per language code, for setMyCommands."""
    return {
        locale: [
            BotCommand(command=name, description=texts(locale)("menu-" + name)) for name in MENU
        ]
        for locale in LOCALES
    }
