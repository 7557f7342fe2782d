"""Handlers are module-level functions a test can import and call alone (issue 16 §4).

1. No handler (nor anything else) is defined inside a function in bot/handlers: a short
   `router()` registers module-level functions, so each can be imported.
2. Handlers take the one object their update brings (bot/request.py: a team member's
   `request`, a client's `client`, a Business update's `business_update`) instead of `ctx,
   actor, user` one by one; only /start and /stop, which also answer a switched-off
   account, take the session one by one.
3. A handler runs alone: given a request on a real database and a stand-in message, it
   answers through core like it does under the dispatcher.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deps import BotDeps
from bot.handlers import fallback, plan, reports
from bot.i18n import texts
from bot.request import Request
from core.context import Actor, Ctx
from tests.factories import make_task, make_user

HANDLERS = Path(__file__).resolve().parents[2] / "bot" / "handlers"
# A handler that needs only texts (bot/handlers/dialogs.py) may take `t`: it serves anyone.
ONE_BY_ONE = {"ctx", "actor", "user"}
# Handlers that also answer a switched-off account, which has no request of either kind.
ANYONE = {("start", "start"), ("start", "stop")}


def _modules() -> list[str]:
    return sorted(p.stem for p in HANDLERS.glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", _modules())
def test_no_function_is_defined_inside_a_function(name: str) -> None:
    tree = ast.parse((HANDLERS / f"{name}.py").read_text(encoding="utf-8"))
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    nested = [
        f"{outer.name}.{inner.name}"
        for outer in ast.walk(tree)
        if isinstance(outer, functions)
        for inner in ast.walk(outer)
        if inner is not outer and isinstance(inner, functions)
    ]
    assert nested == []


def _registered(name: str) -> list[Any]:
    module = importlib.import_module(f"bot.handlers.{name}")
    found = []
    for factory in ("router", "card_router"):
        if hasattr(module, factory):
            router = getattr(module, factory)()
            for observer in router.observers.values():
                found += [handler.callback for handler in observer.handlers]
    return found


@pytest.mark.parametrize("name", _modules())
def test_handlers_take_their_request_object(name: str) -> None:
    one_by_one = {
        callback.__name__: sorted(ONE_BY_ONE & set(inspect.signature(callback).parameters))
        for callback in _registered(name)
        if (name, callback.__name__) not in ANYONE
    }
    assert {k: v for k, v in one_by_one.items() if v} == {}


class StandInMessage:
    """What a handler uses of aiogram's Message: answer(), recorded."""

    def __init__(self) -> None:
        self.answers: list[str] = []

    async def answer(self, text: str, **_: Any) -> None:
        self.answers.append(text)


async def _request(ctx: Ctx, sessions: async_sessionmaker[AsyncSession], role: str) -> Request:
    user = await make_user(ctx, "Анна", role, tg=1001)
    return Request(
        ctx=ctx,
        t=texts(user.locale),
        user=user,
        actor=Actor.of_user(user),
        deps=BotDeps(sessions=sessions, config=ctx.config, clock=ctx.clock),
    )


async def test_report_alone_refuses_a_salesperson(
    ctx: Ctx, sessions: async_sessionmaker[AsyncSession]
) -> None:
    request = await _request(ctx, sessions, "sales")
    message = StandInMessage()
    await reports.report(message, request)  # type: ignore[arg-type]
    assert message.answers == [request.t("managers-only")]


async def test_today_alone_lists_the_users_task_from_the_database(
    ctx: Ctx, sessions: async_sessionmaker[AsyncSession]
) -> None:
    request = await _request(ctx, sessions, "sales")
    soon = ctx.clock.now() + timedelta(hours=1)  # 12:00 in Moscow, the user's zone
    await make_task(ctx, actor=request.actor, title="Перезвонить Ивану", due_at=soon)
    state = FSMContext(MemoryStorage(), StorageKey(bot_id=1, chat_id=1001, user_id=1001))
    message = StandInMessage()
    await plan.today(message, request, state)  # type: ignore[arg-type]
    [text] = message.answers
    assert request.t("today-title") in text
    assert "Перезвонить Ивану" in text


async def test_a_stale_button_alone_is_answered_on_the_button(
    ctx: Ctx, sessions: async_sessionmaker[AsyncSession]
) -> None:
    request = await _request(ctx, sessions, "sales")
    notice = CallbackAnswer(answered=False)
    await fallback.unknown_button(None, request, notice)  # type: ignore[arg-type]
    assert notice.text == request.t("button-stale")
