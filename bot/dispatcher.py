"""Builds a fresh Dispatcher with every feature router and middleware."""

from __future__ import annotations

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage

from bot.deps import BotDeps
from bot.handlers import (
    business,
    calls,
    clients,
    contacts,
    deals,
    dialogs,
    documents,
    escalations,
    fallback,
    find,
    invites,
    orders,
    plan,
    reports,
    search,
    spreadsheets,
    start,
    targets,
    team,
)
from bot.menus import command_menus
from bot.middlewares import (
    CallbackAnswerMiddleware,
    ErrorMiddleware,
    LogContextMiddleware,
    SessionMiddleware,
    UserMiddleware,
)
from core.conversations.business_writer import BusinessLogWriter

__all__ = ["build_dispatcher", "command_menus"]  # the menus per role live in bot/menus.py


def build_dispatcher(deps: BotDeps, *, storage: BaseStorage | None = None) -> Dispatcher:
    """A new Dispatcher (routers are built by factories, so tests may build many)."""
    dp = Dispatcher(storage=storage or MemoryStorage())
    dp["deps"] = deps
    dp.update.outer_middleware(LogContextMiddleware())
    writes = deps.bulk_sessions or deps.sessions
    dp["business_log"] = BusinessLogWriter(writes, deps.config, deps.clock)  # group commit
    dp.update.outer_middleware(ErrorMiddleware())
    dp.update.outer_middleware(SessionMiddleware())
    dp.update.outer_middleware(UserMiddleware())
    dp.callback_query.middleware(CallbackAnswerMiddleware())
    # Text a flow waits for never matches a command or a reply-keyboard caption (FREE_TEXT),
    # so those work in any state; a reply to a card comes before flows; search and the
    # fallback come last. /invite and /help (per role) come before start's own handlers.
    for factory in (
        orders.router,  # first: a client's My orders / Leave a request, not a chat message
        clients.router,  # clients' messages, and staff replies to relayed ones
        dialogs.router,  # «отмена» and menu buttons mid-dialog before any flow
        clients.card_router,  # Write to client: after dialogs, so «отмена» ends it
        documents.router,  # files to a card before the import, photo notes and the fallback
        invites.router,
        start.router,
        team.router,
        business.router,  # Business chats logged (no user); /business and its toggles
        escalations.router,
        contacts.router,
        plan.router,
        deals.router,
        calls.router,
        reports.router,
        targets.router,
        spreadsheets.router,
        find.router,  # /find: documents by content
        search.router,
        fallback.router,
    ):
        dp.include_router(factory())
    return dp
