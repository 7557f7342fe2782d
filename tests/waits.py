"""Waiting in tests on a condition, not on the clock: `await wait_until(lambda: ..., within=5)`
returns as soon as the condition holds and fails saying what did not happen when it never does,
so a test is as fast as the code under test and fails for a reason instead of by timing.
`await until(read_rows)` does the same for a condition that needs the database (an async
check), and returns what the check found."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


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


async def until(check: Callable[[], Awaitable[T | None]], *, within: float = 5.0) -> T:
    """Until `await check()` returns something truthy (a row, a list, True), and return it;
    past `within` seconds fail (for conditions the code reaches in the background)."""
    async with asyncio.timeout(within):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.02)
