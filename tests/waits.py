"""Waiting in tests on a condition, not on the clock: `await wait_until(lambda: ..., within=5)`
returns as soon as the condition holds and fails saying what did not happen when it never does,
so a test is as fast as the code under test and fails for a reason instead of by timing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_until(
    check: Callable[[], bool],
    *,
    within: float,
    what: str | Callable[[], str] = "the condition never held",
    poll: float = 0.05,
) -> None:
    """Until `check()`; past `within` seconds fail saying `what` (called then, if callable)."""
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(what() if callable(what) else what)
        await asyncio.sleep(poll)
