"""Callers waiting for a batch to answer them: group commits and batched look-ups.

Each caller queues a `Waiting` (what it asks, and the future it awaits); whoever runs the
batch then `answer`s each caller with its own result, or `fail`s them all with the batch's
error. A caller that stopped waiting (its future cancelled) is passed over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def _future() -> asyncio.Future[Result]:
    return asyncio.get_running_loop().create_future()


@dataclass
class Waiting(Generic[Item, Result]):
    item: Item
    done: asyncio.Future[Result] = field(default_factory=_future)


def answer(batch: Sequence[Waiting[Item, Result]], results: Sequence[Result]) -> None:
    """Each caller its own result, in order."""
    for waiting, result in zip(batch, results, strict=True):
        if not waiting.done.done():
            waiting.done.set_result(result)


def fail(batch: Sequence[Waiting[Item, Result]], error: BaseException) -> None:
    """Every caller still waiting gets `error`."""
    for waiting in batch:
        if not waiting.done.done():
            waiting.done.set_exception(error)
