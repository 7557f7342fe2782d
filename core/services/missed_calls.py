"""The missed-call lifecycle and the notifications a call's transitions send.

A missed inbound call opens one callback task per number (repeats update it); the next
answered call with that number, either direction, closes it and records time-to-callback.
Ringing pops the caller's card to the person whose phone rings; an answered call's end
prompts for its outcome. Everything goes to the outbox inside the caller's unit of work.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.context import Ctx
from core.events import CallEvent
from core.models.calls import Call
from core.models.contacts import Contact
from core.models.users import User
from core.models.work import Activity
from core.services import outbox

OpenCallbacks = dict[str, Activity | None]  # phone (E.164) -> its planned callback task


async def after_transition(
    ctx: Ctx,
    call: Call,
    contact: Contact | None,
    event: CallEvent,
    *,
    was_answered: bool,
    was_ended: bool,
    callbacks: OpenCallbacks | None = None,
) -> None:
    """Run what a call's change of state sets off (called by calls.apply_event).

    `callbacks`: the open callback tasks by phone, as a processor batch loaded them and keeps
    them up to date; a phone missing from it is looked up.
    """
    callbacks = callbacks if callbacks is not None else {}
    if call.status == "answered" and not was_answered:
        await _close_callback(ctx, call, callbacks)
    if event.kind == "ringing" and call.ended_at is None:
        await _notify_ringing(ctx, call, contact)
    if call.ended_at is not None and not was_ended:
        if call.status == "answered":
            await _notify_user(ctx, call.user_id, "post_call", "postcall:{call}", call)
        elif call.direction == "in" and call.status in ("missed", "busy", "failed"):
            await _open_callback(ctx, call, contact, callbacks)
    elif (
        call.ended_at is not None
        and event.extension
        and call.user_id is not None
        and call.direction == "in"
        and call.status in ("missed", "busy", "failed")
    ):
        # The end arrived before the ringing that says whose extension it was.
        await _adopt_callback(ctx, call, contact)
    elif call.ended_at is not None and call.status == "answered" and not was_answered:
        # An out-of-order answer turned a missed call into an answered one.
        await _notify_user(ctx, call.user_id, "post_call", "postcall:{call}", call)


async def _ensure_id(ctx: Ctx, call: Call) -> None:
    """A call created in this unit of work gets its id from the database when one is needed
    (a task or a notification points at it); until then it waits for the batch's flush."""
    if call.id is None:
        await ctx.session.flush()


async def _notify_user(
    ctx: Ctx,
    user_id: int | None,
    kind: str,
    key: str,
    call: Call,
    extra: dict[str, object] | None = None,
) -> None:
    """Queue a notification for the user's Telegram; `key` is the dedupe key, `{call}` in it
    standing for the call's id."""
    if user_id is None:
        return
    user = await ctx.session.get(User, user_id)
    if user is None or not user.active or user.telegram_user_id is None:
        return
    await _ensure_id(ctx, call)
    dedupe_key = key.format(call=call.id)
    payload: dict[str, object] = {
        "call_id": call.id,
        "contact_id": call.contact_id,
        "phone": call.client_e164 or call.client_raw,
    }
    await outbox.enqueue(
        ctx,
        kind=kind,
        dedupe_key=dedupe_key,
        user_id=user.id,
        chat_id=user.telegram_user_id,
        payload={**payload, **(extra or {})},
    )


async def _notify_ringing(ctx: Ctx, call: Call, contact: Contact | None) -> None:
    target = call.user_id or (contact.owner_id if contact else None)
    await _notify_user(ctx, target, "incoming_call", f"ring:{{call}}:{target}", call)


async def _responsible(ctx: Ctx, call: Call, contact: Contact | None) -> int | None:
    """Contact owner, else the extension that rang, else the on-duty fallback."""
    for candidate in (contact.owner_id if contact else None, call.user_id):
        if candidate is not None:
            user = await ctx.session.get(User, candidate)
            if user is not None and user.active:
                return candidate
    on_duty: int | None = await ctx.session.scalar(
        select(User.id)
        .where(User.on_duty.is_(True), User.active.is_(True))
        .order_by(User.id)
        .limit(1)
    )
    return on_duty


async def _open_task(ctx: Ctx, phone: str, callbacks: OpenCallbacks) -> Activity | None:
    """The planned callback task for this phone (one at most), from the batch's map or the DB."""
    if phone in callbacks:
        return callbacks[phone]
    task = await ctx.session.scalar(
        select(Activity).where(
            Activity.kind == "callback",
            Activity.status == "planned",
            Activity.callback_phone == phone,
        )
    )
    callbacks[phone] = task
    return task


async def _open_callback(
    ctx: Ctx, call: Call, contact: Contact | None, callbacks: OpenCallbacks
) -> None:
    if call.client_e164 is None:
        return
    existing = await _open_task(ctx, call.client_e164, callbacks)
    if existing is not None:
        existing.missed_count += 1
        existing.updated_at = ctx.clock.now()
        existing.notes = (
            f"{existing.notes or ''}\nmissed again at {call.started_at.isoformat()}".strip()
        )
        return
    assert call.ended_at is not None
    await _ensure_id(ctx, call)  # the task points at the call that opened it
    owner = await _responsible(ctx, call, contact)
    due = call.ended_at + timedelta(minutes=ctx.config.callback_sla_minutes)
    now = ctx.clock.now()
    activity = Activity(
        kind="callback",
        title=f"Перезвонить: {contact.name if contact else call.client_e164}",
        due_at=due,
        remind_at=due,
        owner_id=owner,
        contact_id=call.contact_id,
        status="planned",
        source="missed_call",
        source_call_id=call.id,
        callback_phone=call.client_e164,
        missed_count=1,
        created_at=call.ended_at,
        updated_at=now,
    )
    ctx.session.add(activity)
    await ctx.session.flush()
    callbacks[call.client_e164] = activity
    await _notify_user(
        ctx, owner, "missed_call", "missed:{call}", call, {"activity_id": activity.id}
    )


async def _adopt_callback(ctx: Ctx, call: Call, contact: Contact | None) -> None:
    """Give this call's unowned callback task to the person now known to be responsible."""
    if call.id is None:
        return  # not stored yet, so no task can point at it
    task = await ctx.session.scalar(
        select(Activity).where(
            Activity.kind == "callback",
            Activity.status == "planned",
            Activity.source_call_id == call.id,
            Activity.owner_id.is_(None),
        )
    )
    if task is None:
        return
    owner = await _responsible(ctx, call, contact)
    if owner is None:
        return
    task.owner_id = owner
    task.updated_at = ctx.clock.now()
    await _notify_user(ctx, owner, "missed_call", "missed:{call}", call, {"activity_id": task.id})


async def _close_callback(ctx: Ctx, call: Call, callbacks: OpenCallbacks) -> None:
    if call.client_e164 is None:
        return
    task = await _open_task(ctx, call.client_e164, callbacks)
    if task is None:
        return
    await _ensure_id(ctx, call)
    if task.source_call_id == call.id:
        if task.missed_count <= 1:
            # Out of order: the call looked missed, then its final record says answered.
            task.status, task.result = "canceled", "the call was answered after all"
            task.updated_at = ctx.clock.now()
            callbacks[call.client_e164] = None
        return
    callbacks[call.client_e164] = None
    answered = call.answered_at or ctx.clock.now()
    task.status = "done"
    task.done_at = answered
    task.closed_by_call_id = call.id
    task.result = "answered call" if call.direction == "in" else "called back"
    task.time_to_callback_seconds = max(int((answered - task.created_at).total_seconds()), 0)
    task.updated_at = ctx.clock.now()
    call.callback_of_id = task.source_call_id
