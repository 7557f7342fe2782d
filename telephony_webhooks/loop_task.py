"""One named background task that runs a loop until stopped (the inbox writer, the processor).

`stop()` cancels the task and waits for it. A cancel can be lost (the code it lands in may
turn it into another exception), so the loop also reads `stopping` and ends on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any


class LoopTask:
    """Runs `run()` as the task `name` between `start()` and `stop()`."""

    def __init__(self, run: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        self._run = run
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self.stopping = False

    @property
    def running(self) -> bool:
        """Started and not yet stopped."""
        return self._task is not None

    def start(self) -> None:
        """Start the task unless it runs already."""
        if self._task is None:
            self.stopping = False
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Cancel the loop and wait for it; `stopping` ends it even if the cancel got lost."""
        if self._task is not None:
            self.stopping = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
