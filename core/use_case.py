"""The outermost use case owns the transaction (the rule: core/__init__.py).

A step adds its changes to the caller's unit of work and never commits; `use_case(step)` is
the same step as a use case of its own, which commits once when the step returns:

    async def add_contact(ctx: Ctx, *, actor: Actor, name: str, ...) -> Contact:
        '''... in the caller's unit of work (never commits).'''

    create_contact = use_case(add_contact)  # for the edges: one call, one commit

A use case that combines steps calls the steps, not other use cases, and commits itself.

A use case that refuses (its step raises, or the commit fails) leaves the unit of work clean
for the caller's next step, which never rolls back itself (a handler showing the card that
already has the phone, or asking for the extension again):
1. a step that wrote (added, changed or deleted an object, or flushed) is rolled back before
   the error reaches the caller: none of its writes can ride on a later commit;
2. a step that refused before writing touches nothing: the objects the caller has loaded
   stay loaded (a rollback would expire them all, and an expired attribute cannot load
   itself outside an `await`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from core.context import Ctx

P = ParamSpec("P")
R = TypeVar("R")
FLUSHES = "use_case.flushes"  # session.info: how many flushes wrote something


@event.listens_for(Session, "after_flush")
def _count_flush(session: Session, _flush: UOWTransaction) -> None:
    session.info[FLUSHES] = session.info.get(FLUSHES, 0) + 1


def use_case(
    step: Callable[Concatenate[Ctx, P], Awaitable[R]],
) -> Callable[Concatenate[Ctx, P], Coroutine[Any, Any, R]]:
    """`step`, then one commit of its unit of work; if it raises after writing, a rollback."""

    @functools.wraps(step)
    async def committed(ctx: Ctx, /, *args: P.args, **kwargs: P.kwargs) -> R:
        flushes = ctx.session.info.get(FLUSHES, 0)
        try:
            result = await step(ctx, *args, **kwargs)
            await ctx.session.commit()
        except Exception:
            # Not on a cancellation: a connection cancelled mid-query may refuse the rollback
            # too; the session's owner (core.db.session_scope) rolls back then.
            if _wrote(ctx.session, flushes):
                await ctx.session.rollback()
            raise
        return result

    return committed


def _wrote(session: AsyncSession, flushes_before: int) -> bool:
    """Whether the session holds writes: pending changes, or a flush since `flushes_before`."""
    pending = session.new or session.dirty or session.deleted
    return bool(pending) or session.info.get(FLUSHES, 0) != flushes_before
