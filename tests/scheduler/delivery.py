"""Reminders end to end: due activities for many users, and what reached the fake Bot API.

A reminder at the fake is a sendMessage whose keyboard carries the activity's Done button
(`ActivityCb(action="done")`, rendered by bot/notifications.py); the snooze buttons ride on it.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import ActivityCb
from core.models import Activity, Notification, User
from tests.fakes.telegram_api import TOKEN, Call, FakeTelegram
from tests.ports import free_port
from tests.scheduler.helpers import start_perezvon_run
from tests.waits import wait_until

__all__ = ["wait_until"]  # the scheduler tests import it from here too

ROOT = Path(__file__).resolve().parents[2]
TG_BASE = 700_000_000


@dataclass(frozen=True)
class Reminded:
    """One reminder as the fake received it."""

    chat_id: int
    activity_id: int
    actions: frozenset[str]  # the activity buttons: done, snooze, move
    snoozes: frozenset[int]  # snooze minutes offered
    text: str
    at: float


async def due_for_each_user(
    sessions: async_sessionmaker[AsyncSession], count: int, at: datetime
) -> dict[int, int]:
    """`count` users with a Telegram id, each with one task due at `at`: {chat id: activity id}."""
    async with sessions() as session:
        users = [
            {"name": f"Менеджер {n}", "telegram_user_id": TG_BASE + n, "role": "sales"}
            for n in range(count)
        ]
        for row in users:
            row |= {"timezone": "Europe/Moscow", "locale": "ru", "active": True}
            row |= {"on_duty": False, "created_at": at}
        ids = list(
            await session.scalars(
                insert(User).returning(User.id, sort_by_parameter_order=True), users
            )
        )
        tasks = [
            {
                "kind": "task",
                "title": f"Перезвонить клиенту №{n}",
                "due_at": at,
                "remind_at": at,
                "owner_id": user_id,
                "status": "planned",
                "snooze_count": 0,
                "missed_count": 0,
                "created_at": at,
                "updated_at": at,
            }
            for n, user_id in enumerate(ids)
        ]
        activity_ids = list(
            await session.scalars(
                insert(Activity).returning(Activity.id, sort_by_parameter_order=True), tasks
            )
        )
        await session.commit()
    return {TG_BASE + n: activity_id for n, activity_id in enumerate(activity_ids)}


def reminders_at(fake: FakeTelegram) -> list[Reminded]:
    """Every reminder the fake answered with 200, oldest first."""
    found = []
    for call in fake.sent("sendMessage"):
        reminded = _reminded(call)
        if reminded is not None:
            found.append(reminded)
    return found


def _reminded(call: Call) -> Reminded | None:
    markup: Any = call.params.get("reply_markup") or {}
    buttons = [b for row in markup.get("inline_keyboard", []) for b in row]
    unpacked = []
    for button in buttons:
        data = str(button.get("callback_data") or "")
        if data.startswith(ActivityCb.__prefix__ + ":"):
            unpacked.append(ActivityCb.unpack(data))
    done = [cb.id for cb in unpacked if cb.action == "done"]
    if not done:
        return None
    return Reminded(
        chat_id=int(call.chat_id),
        activity_id=done[0],
        actions=frozenset(cb.action for cb in unpacked),
        snoozes=frozenset(cb.minutes for cb in unpacked if cb.action == "snooze"),
        text=call.text or "",
        at=call.at,
    )


def twice(reminded: list[Reminded]) -> dict[int, int]:
    """Chat ids that got more than one reminder, with how many."""
    return {chat: n for chat, n in Counter(r.chat_id for r in reminded).items() if n > 1}


async def outbox_states(sessions: async_sessionmaker[AsyncSession]) -> dict[int, tuple[str, bool]]:
    """activity id -> (status, still claimed) of its reminder notification."""
    async with sessions() as session:
        rows = list(
            await session.scalars(select(Notification).where(Notification.kind == "reminder"))
        )
    return {
        int(row.payload["activity_id"]): (row.status, row.claimed_until is not None) for row in rows
    }


async def perezvon_run(
    database_url: str, fake: FakeTelegram, *, rate: float, log: Path
) -> asyncio.subprocess.Process:
    """`perezvon run --components scheduler,bot` as deployed, against the fake's URL."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PEREZVON_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "PEREZVON_DATABASE_URL": database_url,
        "PEREZVON_HTTP_PORT": str(free_port()),
        "PEREZVON_TELEGRAM_TOKEN": TOKEN,
        "PEREZVON_TELEGRAM_API_URL": fake.url,
        "PEREZVON_TELEGRAM_RATE": str(rate),
        "PEREZVON_REMINDERS_INTERVAL_SECONDS": "0.2",
        "PEREZVON_LOG_LEVEL": "WARNING",
    }
    with log.open("ab") as out:
        return await start_perezvon_run(
            "scheduler,bot", cwd=log.parent, env=env, stdout=out, stderr=out
        )
