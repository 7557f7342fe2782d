"""Who gets a new client (setting CLIENT_ROUTING).

1. `on-duty`: the active person marked on duty (`users.on_duty`, the lowest id when several);
   nobody on duty: round-robin.
2. `round-robin`: the active salespeople with a Telegram account in id order, each new client
   to the one after the last one chosen (`client_routing_state`, one row, claimed with
   FOR UPDATE on PostgreSQL so two new clients at once go to two people); no salespeople:
   the managers, then the admins.
Returns None when the team has nobody to give a client to (the contact stays unowned, and
managers see it).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.context import Ctx
from core.conversations.models import ClientRoutingState
from core.users import duty

ROUTING_MODES = ("on-duty", "round-robin")
STATE_ID = 1


async def _candidates(ctx: Ctx) -> list[int]:
    return [user.id for user in await duty.first_staffed_role(ctx, ("sales", "manager", "admin"))]


async def _state(ctx: Ctx) -> ClientRoutingState:
    """The pointer row, created once (a concurrent twin's insert is a no-op), then claimed."""
    dialect = ctx.session.bind.dialect.name if ctx.session.bind is not None else "sqlite"
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    await ctx.session.execute(
        insert_fn(ClientRoutingState)
        .values(id=STATE_ID, last_user_id=None, updated_at=ctx.clock.now())
        .on_conflict_do_nothing(index_elements=["id"])
    )
    query = select(ClientRoutingState).where(ClientRoutingState.id == STATE_ID)
    if dialect == "postgresql":
        query = query.with_for_update()
    state = await ctx.session.scalar(query.execution_options(populate_existing=True))
    assert state is not None
    return state


async def round_robin(ctx: Ctx) -> int | None:
    """The next salesperson after the last one chosen (step 2); moves the pointer."""
    candidates = await _candidates(ctx)
    if not candidates:
        return None
    state = await _state(ctx)
    later = [
        user_id
        for user_id in candidates
        if state.last_user_id is None or user_id > state.last_user_id
    ]
    chosen = later[0] if later else candidates[0]
    state.last_user_id = chosen
    state.updated_at = ctx.clock.now()
    await ctx.session.flush()  # the next pick in this unit of work reads it back
    return chosen


async def pick_owner(ctx: Ctx) -> int | None:
    """The person a new client goes to under the configured routing; does not commit."""
    if ctx.config.client_routing != "round-robin":
        on_duty = await duty.on_duty_id(ctx, in_telegram=True)
        if on_duty is not None:
            return on_duty
    return await round_robin(ctx)
