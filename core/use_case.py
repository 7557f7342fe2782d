"""The outermost use case owns the transaction (the rule: core/__init__.py).

A step adds its changes to the caller's unit of work and never commits; `use_case(step)` is
the same step as a use case of its own, which commits once when the step returns:

    async def add_contact(ctx: Ctx, *, actor: Actor, name: str, ...) -> Contact:
        '''... in the caller's unit of work (never commits).'''

    create_contact = use_case(add_contact)  # for the edges: one call, one commit

A use case that combines steps calls the steps, not other use cases, and commits itself.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from core.context import Ctx

P = ParamSpec("P")
R = TypeVar("R")


def use_case(
    step: Callable[Concatenate[Ctx, P], Awaitable[R]],
) -> Callable[Concatenate[Ctx, P], Coroutine[Any, Any, R]]:
    """`step`, then one commit of its unit of work (nothing is committed if it raises)."""

    @functools.wraps(step)
    async def committed(ctx: Ctx, /, *args: P.args, **kwargs: P.kwargs) -> R:
        result = await step(ctx, *args, **kwargs)
        await ctx.session.commit()
        return result

    return committed
