"""Calls: list with filters, get, record the outcome and summary."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.auth import ActorDep, CtxDep
from api.common import NOT_FOUND
from api.schemas import (
    CallList,
    CallOut,
    CallPatch,
    Id,
    Limit,
    Offset,
    QueryTime,
    choices,
)
from core.calls import service as calls

router = APIRouter(prefix="/calls", tags=["calls"])
STATUSES = ("ringing", "answered", "missed", "busy", "failed")
StatusQuery = Annotated[
    list[str] | None, Query(description=f"repeat or comma-separate: {', '.join(STATUSES)}")
]


@router.get("")
async def list_calls(
    ctx: CtxDep,
    actor: ActorDep,
    since: QueryTime | None = None,
    until: QueryTime | None = None,
    contact_id: Id | None = None,
    user_id: Id | None = None,
    status: StatusQuery = None,
    direction: Literal["in", "out", "internal"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CallList:
    """Calls newest first; `since` inclusive, `until` exclusive (aware ISO-8601)."""
    page = await calls.list_calls(
        ctx,
        actor=actor,
        since=since,
        until=until,
        contact_id=contact_id,
        user_id=user_id,
        statuses=choices(status, STATUSES, "status"),
        direction=direction,
        limit=limit,
        offset=offset,
    )
    return CallList(items=[CallOut.of(c) for c in page.items], total=page.total)


@router.get("/{call_id}", responses=NOT_FOUND)
async def get_call(ctx: CtxDep, actor: ActorDep, call_id: Id) -> CallOut:
    """One call."""
    return CallOut.of(await calls.get_call(ctx, actor=actor, call_id=call_id))


@router.patch("/{call_id}", responses=NOT_FOUND)
async def patch_call(ctx: CtxDep, actor: ActorDep, call_id: Id, body: CallPatch) -> CallOut:
    """Record the salesperson's outcome and summary."""
    call = await calls.record_outcome(
        ctx, actor=actor, call_id=call_id, outcome=body.outcome, summary=body.summary
    )
    return CallOut.of(call)
