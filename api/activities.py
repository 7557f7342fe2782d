"""Activities (planned work): list, get, plan, rename, complete, cancel, snooze, reschedule."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.auth import ActorDep, CtxDep
from api.common import NOT_FOUND, created, post_created
from api.fields import Title
from api.schemas import (
    ActivityIn,
    ActivityList,
    ActivityOut,
    CancelIn,
    CompleteIn,
    Id,
    Limit,
    Offset,
    QueryTime,
    RescheduleIn,
    SnoozeIn,
    choices,
)
from api.shapes import RequestModel
from core.activities import service as activities
from core.activities.models import ACTIVITY_KINDS

router = APIRouter(prefix="/activities", tags=["activities"])
STATUSES = ("planned", "done", "canceled")
StatusQuery = Annotated[
    list[str] | None, Query(description=f"repeat or comma-separate: {', '.join(STATUSES)}")
]
KindQuery = Annotated[
    list[str] | None, Query(description=f"repeat or comma-separate: {', '.join(ACTIVITY_KINDS)}")
]


@router.get("")
async def list_activities(
    ctx: CtxDep,
    actor: ActorDep,
    owner_id: Id | None = None,
    contact_id: Id | None = None,
    status: StatusQuery = None,
    kind: KindQuery = None,
    due_before: QueryTime | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ActivityList:
    """Activities by due time; filter by status, kind, owner, contact; `due_before` exclusive."""
    page = await activities.list_activities(
        ctx,
        actor=actor,
        owner_id=owner_id,
        contact_id=contact_id,
        statuses=choices(status, STATUSES, "status"),
        kinds=choices(kind, ACTIVITY_KINDS, "kind"),
        due_before=due_before,
        limit=limit,
        offset=offset,
    )
    return ActivityList(items=[ActivityOut.of(a) for a in page.items], total=page.total)


@post_created(router, "", "the activity")
async def plan_activity(
    ctx: CtxDep, actor: ActorDep, body: ActivityIn, request: Request, response: Response
) -> ActivityOut:
    """Plan a call, meeting, task or callback; it reminds at `remind_at` (default `due_at`)."""
    activity = await activities.plan(ctx, actor=actor, **body.model_dump())
    created(request, response, "get_activity", activity_id=activity.id)
    return ActivityOut.of(activity)


@router.get("/{activity_id}", responses=NOT_FOUND)
async def get_activity(ctx: CtxDep, actor: ActorDep, activity_id: Id) -> ActivityOut:
    """One activity."""
    return ActivityOut.of(await activities.get(ctx, actor=actor, activity_id=activity_id))


class ActivityPatch(RequestModel):
    title: Title


@router.patch("/{activity_id}", responses=NOT_FOUND)
async def rename_activity(
    ctx: CtxDep, actor: ActorDep, activity_id: Id, body: ActivityPatch
) -> ActivityOut:
    """Rename a planned activity (its owner or a manager; audited)."""
    activity = await activities.rename(ctx, actor=actor, activity_id=activity_id, title=body.title)
    return ActivityOut.of(activity)


@router.post("/{activity_id}/complete", responses=NOT_FOUND)
async def complete_activity(
    ctx: CtxDep, actor: ActorDep, activity_id: Id, body: CompleteIn | None = None
) -> ActivityOut:
    """Mark a planned activity done, with an optional result."""
    result = body.result if body is not None else None
    activity = await activities.complete(ctx, actor=actor, activity_id=activity_id, result=result)
    return ActivityOut.of(activity)


@router.post("/{activity_id}/cancel", responses=NOT_FOUND)
async def cancel_activity(
    ctx: CtxDep, actor: ActorDep, activity_id: Id, body: CancelIn | None = None
) -> ActivityOut:
    """Cancel a planned activity, with an optional reason."""
    reason = body.reason if body is not None else None
    activity = await activities.cancel(ctx, actor=actor, activity_id=activity_id, reason=reason)
    return ActivityOut.of(activity)


@router.post("/{activity_id}/snooze", responses=NOT_FOUND)
async def snooze_activity(
    ctx: CtxDep, actor: ActorDep, activity_id: Id, body: SnoozeIn
) -> ActivityOut:
    """Remind again in `minutes`; the due time stays."""
    activity = await activities.snooze(
        ctx, actor=actor, activity_id=activity_id, minutes=body.minutes
    )
    return ActivityOut.of(activity)


@router.post("/{activity_id}/reschedule", responses=NOT_FOUND)
async def reschedule_activity(
    ctx: CtxDep, actor: ActorDep, activity_id: Id, body: RescheduleIn
) -> ActivityOut:
    """Move a planned activity to a new due time; the reminder moves with it."""
    activity = await activities.reschedule(
        ctx, actor=actor, activity_id=activity_id, due_at=body.due_at, remind_at=body.remind_at
    )
    return ActivityOut.of(activity)
