"""Builds a fresh Dispatcher with every feature router and middleware."""

from __future__ import annotations

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage

from bot.deps import BotDeps
from bot.handlers import (
    calls,
    contacts,
    deals,
    dialogs,
    documents,
    escalations,
    fallback,
    find,
    invites,
    plan,
    reports,
    search,
    spreadsheets,
    start,
    team,
)
from bot.menus import command_menus
from bot.middlewares import (
    CallbackAnswerMiddleware,
    ErrorMiddleware,
    SessionMiddleware,
    UserMiddleware,
)

__all__ = ["build_dispatcher", "command_menus"]  # the menus per role live in bot/menus.py


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
    # fallback come last. /invite and /help (per role) come before start's own handlers.
    for factory in (
        dialogs.router,  # first: «отмена» and menu buttons mid-dialog before any flow
        documents.router,  # files to a card before the import, photo notes and the fallback
        invites.router,
        start.router,
        team.router,
        escalations.router,
        contacts.router,
        plan.router,
        deals.router,
        calls.router,
        reports.router,
        spreadsheets.router,
        find.router,  # /find: documents by content
        search.router,
        fallback.router,
    ):
        dp.include_router(factory())
    return dp
