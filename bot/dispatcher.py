"""Builds a fresh Dispatcher with every feature router and middleware."""

from __future__ import annotations

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommand

from bot.deps import BotDeps


def build_dispatcher(deps: BotDeps, *, storage: BaseStorage | None = None) -> Dispatcher:
    """A new Dispatcher (routers are built by factories, so tests may build many)."""
    dp = Dispatcher(storage=storage or MemoryStorage())
    dp["deps"] = deps
    return dp


def command_menus() -> dict[str, list[BotCommand]]:
    """The command menu per language code, for setMyCommands."""
    return {
        "ru": [BotCommand(command="today", description="Дела на сегодня")],
        "en": [BotCommand(command="today", description="Today's tasks")],
    }
