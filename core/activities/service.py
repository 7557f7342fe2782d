"""Planned work: plan, reschedule, complete, cancel, snooze; agenda and overdue lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from core import access
from core.activities.models import ACTIVITY_KINDS, Activity
from core.calls import missed as missed_calls
from core.common import Page, add_audited, audit, check_page, given_filters, page_of
from core.contacts.models import Contact, ContactPhone
from core.context import Actor, Ctx
from core.deals.models import Deal
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.phones import normalize
from core.users.models import User


def _check_kind(kind: str) -> str:
    if kind not in ACTIVITY_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(ACTIVITY_KINDS)}", field="kind")
    return kind


def _check_aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{field} needs a time zone", field=field)
    return value


async def _load(ctx: Ctx, actor: Actor, activity_id: int) -> Activity:
    activity = await ctx.session.get(Activity, activity_id)
    return access.visible_activity(ctx, actor, activity, activity_id)


def _ensure_open(activity: Activity) -> None:
    if activity.status != "planned":
        raise InvalidInput(f"activity {activity.id} is already {activity.status}", field="status")


def _changed(ctx: Ctx, actor: Actor, activity: Activity, action: str, **changes: Any) -> None:
    """Stamp a change to an activity and audit it (committed with the change)."""
    activity.updated_at = ctx.clock.now()
    audit(
        ctx, actor=actor, entity="activity", entity_id=activity.id, action=action, changes=changes
    )


async def plan(
    ctx: Ctx,
    *,
    actor: Actor,
    title: str,
    kind: str = "task",
    due_at: datetime | None = None,
    remind_at: datetime | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
    owner_id: int | None = None,
    notes: str | None = None,
) -> Activity:
    """Plan the next step; it reminds at `remind_at` (default: at `due_at`)."""
    if not title.strip():
        raise InvalidInput("title must not be empty", field="title", code="title-empty")
    _check_kind(kind)
    _check_aware(due_at, "due_at")
    _check_aware(remind_at, "remind_at")
    if contact_id is not None:
        try:
            await access.workable_contact(
                ctx, actor, await ctx.session.get(Contact, contact_id), contact_id
            )
        except NotFound as exc:
            raise InvalidInput(
                exc.message,
                field="contact_id",
                code=exc.code or "contact-not-found",
                args=exc.params,
            ) from exc
    if deal_id is not None:
        deal = await ctx.session.get(Deal, deal_id)
        if deal is None or not access.may_see_deal(ctx, actor, deal):
            raise InvalidInput(f"deal {deal_id} not found", field="deal_id", code="deal-not-found")
    owner = owner_id if owner_id is not None else actor.user_id
    if owner is not None and owner != actor.user_id:
        if not actor.sees_all:
            raise PermissionDenied(
                "only a manager can plan work for someone else", code="plan-manager-only"
            )
        if await ctx.session.get(User, owner) is None:
            raise InvalidInput(f"user {owner} not found", field="owner_id", code="user-not-found")
    now = ctx.clock.now()
    activity = Activity(
        kind=kind,
        title=title.strip()[:500],
        notes=notes,
        due_at=due_at,
        remind_at=remind_at if remind_at is not None else due_at,
        owner_id=owner,
        contact_id=contact_id,
        deal_id=deal_id,
        status="planned",
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
        source="manual",
    )
    changes = {"title": activity.title, "due_at": due_at}
    await add_audited(ctx, activity, actor=actor, entity="activity", action="plan", changes=changes)
    await ctx.session.commit()
    return activity


async def reschedule(
    ctx: Ctx, *, actor: Actor, activity_id: int, due_at: datetime, remind_at: datetime | None = None
) -> Activity:
    """Move a planned activity; the reminder moves with it and fires again."""
    _check_aware(due_at, "due_at")
    _check_aware(remind_at, "remind_at")
    activity = await _load(ctx, actor, activity_id)
    _ensure_open(activity)
    activity.due_at = due_at
    activity.remind_at = remind_at or due_at
    activity.reminded_at = None
    _changed(ctx, actor, activity, "reschedule", due_at=due_at)
    await ctx.session.commit()
    return activity


MAX_SNOOZE_MINUTES = 60 * 24 * 30


async def snooze(ctx: Ctx, *, actor: Actor, activity_id: int, minutes: int) -> Activity:
    """Remind again in `minutes` (the one-tap Snooze); the due time stays."""
    if not 1 <= minutes <= MAX_SNOOZE_MINUTES:
        raise InvalidInput(
            "snooze must be between 1 minute and 30 days", field="minutes", code="snooze-range"
        )
    activity = await _load(ctx, actor, activity_id)
    _ensure_open(activity)
    activity.remind_at = ctx.clock.now() + timedelta(minutes=minutes)
    activity.reminded_at = None
    activity.snooze_count += 1
    _changed(ctx, actor, activity, "snooze", minutes=minutes)
    await ctx.session.commit()
    return activity


async def complete(
    ctx: Ctx, *, actor: Actor, activity_id: int, result: str | None = None
) -> Activity:
    """Mark done with an optional result; completing twice is refused, even when two taps race."""
    activity = await _load(ctx, actor, activity_id)
    _ensure_open(activity)
    now = ctx.clock.now()
    # Conditional on still being planned: of two concurrent completions one updates a row.
    changed = await ctx.session.execute(
        update(Activity)
        .where(Activity.id == activity.id, Activity.status == "planned")
        .values(status="done", result=result, done_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 1) == 0:
        await ctx.session.rollback()
        raise InvalidInput(f"activity {activity_id} is already done", field="status")
    for field, value in (("status", "done"), ("result", result), ("done_at", now)):
        set_committed_value(activity, field, value)
    set_committed_value(activity, "updated_at", now)
    audit(
        ctx,
        actor=actor,
        entity="activity",
        entity_id=activity.id,
        action="complete",
        changes={"result": result},
    )
    await missed_calls.task_closed(ctx, activity)  # its missed-call message loses its buttons
    await ctx.session.commit()
    return activity


def _check_may_change(actor: Actor, activity: Activity) -> None:
    # Renaming and deleting change what someone else planned: the owner (or, for unowned
    # work, whoever planned it) or a manager, never a colleague who merely sees it.
    if access.may_manage(actor, activity.owner_id):
        return
    if activity.owner_id is None and activity.created_by_id == actor.user_id:
        return
    raise PermissionDenied("only the owner or a manager can rename or delete this")


async def rename(ctx: Ctx, *, actor: Actor, activity_id: int, title: str) -> Activity:
    """Give a planned activity a new title (its owner or a manager)."""
    if not title.strip():
        raise InvalidInput("title must not be empty", field="title")
    activity = await _load(ctx, actor, activity_id)
    _check_may_change(actor, activity)
    _ensure_open(activity)
    before = activity.title
    activity.title = title.strip()[:500]
    _changed(ctx, actor, activity, "rename", title=activity.title, was=before)
    await ctx.session.commit()
    return activity


async def cancel(
    ctx: Ctx, *, actor: Actor, activity_id: int, reason: str | None = None
) -> Activity:
    """Cancel (delete) a planned activity: it stays in the history as canceled and never
    counts as work done; its owner or a manager."""
    activity = await _load(ctx, actor, activity_id)
    _check_may_change(actor, activity)
    _ensure_open(activity)
    activity.status = "canceled"
    activity.result = reason
    _changed(ctx, actor, activity, "cancel", reason=reason)
    await missed_calls.task_closed(ctx, activity)  # its missed-call message loses its buttons
    await ctx.session.commit()
    return activity


async def get(ctx: Ctx, *, actor: Actor, activity_id: int) -> Activity:
    return await _load(ctx, actor, activity_id)


async def contact_of(ctx: Ctx, *, activity: Activity) -> Contact | None:
    """The contact of an activity the actor was given (deleted too: the task still names it)."""
    return await ctx.session.get(Contact, activity.contact_id) if activity.contact_id else None


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants where a local calendar day starts and ends."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


async def agenda(ctx: Ctx, *, user: User, day: date | None = None) -> list[Activity]:
    """A user's planned activities for a day in their own time zone (default: their today)."""
    if day is None:
        day = ctx.clock.now().astimezone(ZoneInfo(user.timezone)).date()
    start, end = day_bounds(day, user.timezone)
    rows = await ctx.session.scalars(
        select(Activity)
        .where(
            Activity.owner_id == user.id,
            Activity.status == "planned",
            Activity.due_at >= start,
            Activity.due_at < end,
        )
        .order_by(Activity.due_at, Activity.id)
    )
    return list(rows)


async def overdue(ctx: Ctx, *, actor: Actor, owner_id: int | None = None) -> list[Activity]:
    """Planned activities past due: the actor's own, or anyone's for a manager."""
    query = select(Activity).where(Activity.status == "planned", Activity.due_at < ctx.clock.now())
    if not actor.sees_all:
        query = query.where(Activity.owner_id == actor.user_id)
    elif owner_id is not None:
        query = query.where(Activity.owner_id == owner_id)
    return list(await ctx.session.scalars(query.order_by(Activity.due_at, Activity.id)))


async def list_activities(
    ctx: Ctx,
    *,
    actor: Actor,
    owner_id: int | None = None,
    contact_id: int | None = None,
    statuses: Sequence[str] = (),
    due_before: datetime | None = None,
    kinds: Sequence[str] = (),
    phone: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[Activity]:
    """Activities by due time; `phone` (any format) keeps the callbacks of that number and
    the activities of the contact it belongs to."""
    check_page(limit, offset)
    where = []
    if phone is not None:
        e164 = normalize(phone, region=ctx.config.default_region).e164
        if e164 is None:
            raise InvalidInput(
                f"{phone!r} is an extension, not a phone number",
                field="phone",
                code="phone-is-extension",
            )
        owners = select(ContactPhone.contact_id).where(
            ContactPhone.e164 == e164, ContactPhone.is_live.is_(True)
        )
        where.append(or_(Activity.callback_phone == e164, Activity.contact_id.in_(owners)))
    where.append(access.activity_clause(ctx, actor))
    where += given_filters(
        equal=[(Activity.owner_id, owner_id), (Activity.contact_id, contact_id)],
        among=[(Activity.status, statuses), (Activity.kind, kinds)],
    )
    if due_before is not None:
        where.append(Activity.due_at < due_before)
    return await page_of(
        ctx, Activity, where, order_by=(Activity.due_at, Activity.id), limit=limit, offset=offset
    )
