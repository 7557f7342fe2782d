"""Jobs that count what each instance claimed, and bulk-made due reminders."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.activities import reminders
from core.models import Activity
from scheduler.jobs import Jobs


class CountingJobs(Jobs):
    """Reminders one batch per step, counting the activities this instance claimed."""

    def __init__(self, *args: Any, pause: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.claimed = 0
        self.pause = pause

    async def reminders(self) -> int:
        options = self.options.reminders
        total = 0
        while True:
            claimed = await self._run(lambda ctx: reminders.send_due(ctx, options=options))
            self.claimed += claimed
            total += claimed
            if claimed < options.batch_size:
                return total
            await asyncio.sleep(self.pause)


async def due_reminders(
    sessions: async_sessionmaker[AsyncSession], owner_id: int, count: int, at: datetime
) -> None:
    rows = [
        {
            "kind": "task",
            "title": f"Задача {n}",
            "due_at": at,
            "remind_at": at,
            "owner_id": owner_id,
            "status": "planned",
            "snooze_count": 0,
            "missed_count": 0,
            "created_at": at,
            "updated_at": at,
        }
        for n in range(count)
    ]
    async with sessions() as session:
        await session.execute(insert(Activity), rows)
        await session.commit()
