"""What a manager does with an overdue callback they were told about.

1. Only managers and admins act on an escalation; the callback must still be open.
2. «Remind» queues a nudge to the task's owner now (`callback_nudge`), naming the manager;
   the task itself does not change. Each tap nudges once (its own dedupe key).
3. «Reassign» gives the task to another active employee, or to the manager («take it»):
   the task changes owner, the new owner is told (`callback_assigned`), the old one too.
4. Every action is audited.
"""

from __future__ import annotations

from core.activities.models import Activity
from core.common import audit, get_or_not_found
from core.context import Actor, Ctx
from core.errors import InvalidInput, PermissionDenied
from core.outbox import service as outbox
from core.users.models import User


async def _open_task(ctx: Ctx, actor: Actor, activity_id: int) -> Activity:
    if not actor.sees_all:
        raise PermissionDenied("only a manager acts on an escalation", code="manager-only")
    activity = await get_or_not_found(ctx, Activity, activity_id, "activity")
    if activity.status != "planned":
        raise InvalidInput(f"activity {activity_id} is {activity.status}", field="status")
    return activity


async def check_open(ctx: Ctx, *, actor: Actor, activity_id: int) -> Activity:
    """The open task a manager is about to act on (refused to sales people, or once closed)."""
    return await _open_task(ctx, actor, activity_id)


async def remind_owner(ctx: Ctx, *, actor: Actor, activity_id: int) -> Activity:
    """Nudge the task's owner now, naming the manager who asked."""
    activity = await _open_task(ctx, actor, activity_id)
    if activity.owner_id is None:
        raise InvalidInput(
            f"activity {activity_id} has no owner", field="owner_id", code="no-owner"
        )
    now = ctx.clock.now()
    await outbox.enqueue(
        ctx,
        kind="callback_nudge",
        dedupe_key=f"callback_nudge:{activity.id}:{now.isoformat()}",
        user_id=activity.owner_id,
        payload={"activity_id": activity.id, "by_id": actor.user_id},
    )
    audit(ctx, actor=actor, entity="activity", entity_id=activity.id, action="nudge", changes={})
    await ctx.session.commit()
    return activity


async def reassign(ctx: Ctx, *, actor: Actor, activity_id: int, owner_id: int) -> Activity:
    """Give the open task to another active employee (or to the manager); both are told."""
    activity = await _open_task(ctx, actor, activity_id)
    owner = await ctx.session.get(User, owner_id)
    if owner is None or not owner.active:
        raise InvalidInput(
            f"owner {owner_id} is not an active user", field="owner_id", code="owner-inactive"
        )
    previous = activity.owner_id
    if previous == owner_id:
        await ctx.session.commit()
        return activity
    activity.owner_id = owner_id
    activity.updated_at = ctx.clock.now()
    payload = {"activity_id": activity.id, "from_id": previous, "to_id": owner_id}
    await outbox.handed_over(
        ctx, actor, "callback_assigned", activity.id, (owner_id, previous), payload
    )
    audit(
        ctx,
        actor=actor,
        entity="activity",
        entity_id=activity.id,
        action="reassign",
        changes={"owner_id": {"from": previous, "to": owner_id}},
    )
    await ctx.session.commit()
    return activity
