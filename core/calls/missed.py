"""The missed-call lifecycle and the notifications a call's transitions send.

1. Ringing pops the caller's card to the person whose phone rings, or to the client's owner
   while the line is not known yet (that pop then says at whose line it rings).
2. Those pops are live: once sent, each change the pop shows (the extension it rings at,
   answered, ended with the duration, missed) queues a `call_update` that edits the message
   in place (`outbox.enqueue_edit`); a pop still waiting to go out needs none, it is rendered
   from the call's state when it is sent.
3. A missed inbound call opens one callback task per number; a repeat counts on that task
   (`missed_count`) and edits the task's message (`task_update`) with the count and the time
   of the last one; nothing is appended to the task's notes.
4. The next answered call with that number, either direction, closes the task, records
   time-to-callback and edits the task's message so its buttons go.
5. An answered call's end prompts for its outcome.
Everything goes to the outbox inside the caller's unit of work. The task's title comes from
`CoreConfig.callback_title` (the team's language, from the locale files via the composition
root): core holds no sentence of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.activities.models import Activity
from core.calls.models import Call
from core.contacts.models import Contact
from core.context import Ctx
from core.events import CallEvent
from core.outbox import service as outbox
from core.users import duty
from core.users.models import User

OpenCallbacks = dict[str, Activity | None]  # phone (E.164) -> its planned callback task


async def after_transition(
    ctx: Ctx,
    call: Call,
    contact: Contact | None,
    event: CallEvent,
    *,
    was_answered: bool,
    was_ended: bool,
    was_at: int | None = None,
    callbacks: OpenCallbacks | None = None,
) -> None:
    """Run what a call's change of state sets off (called by calls.apply_event).

    `callbacks`: the open callback tasks by phone, as a processor batch loaded them and keeps
    them up to date; a phone missing from it is looked up. `was_at`: the user the call rang
    at before this event (the pops already sent say so until edited).
    """
    callbacks = callbacks if callbacks is not None else {}
    if call.status == "answered" and not was_answered:
        await _close_callback(ctx, call, callbacks)
    if event.kind == "ringing" and call.ended_at is None:
        await _notify_ringing(ctx, call, contact)
        if call.user_id is not None and call.user_id != was_at:
            await _refresh_pops(ctx, call, f"at{call.user_id}")
    if call.ended_at is not None and not was_ended:
        await _refresh_pops(ctx, call, "ended")
    elif call.status == "answered" and not was_answered:
        await _refresh_pops(ctx, call, "answered")
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
    live_ref: str | None = None,
) -> None:
    """Queue a notification for the user's Telegram; `key` is the dedupe key, `{call}` in it
    (and in `live_ref`) standing for the call's id."""
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
        live_ref=live_ref.format(call=call.id) if live_ref else None,
    )


async def _notify_ringing(ctx: Ctx, call: Call, contact: Contact | None) -> None:
    """The pop to whoever's phone rings, else (the line not known yet) to the client's owner,
    whose pop is edited to name the line once the PBX says where it rings."""
    target = call.user_id or (contact.owner_id if contact else None)
    await _notify_user(
        ctx, target, "incoming_call", f"ring:{{call}}:{target}", call, live_ref="call:{call}"
    )


async def _refresh_pops(ctx: Ctx, call: Call, state: str) -> None:
    """Edit the pops already sent (or being sent) for this call to show its new `state`."""
    if call.id is None or not ctx.config.live_call_messages:
        return  # not stored yet: no pop can point at it; or live pops are switched off
    for pop in await outbox.live_messages(ctx, live_ref=f"call:{call.id}"):
        await outbox.enqueue_edit(
            ctx, of=pop, kind="call_update", state=state, payload={"call_id": call.id}
        )


async def _refresh_task(ctx: Ctx, task: Activity, state: str) -> None:
    """Edit the missed-call message of a callback task (sent or being sent) to its new state."""
    for message in await outbox.live_messages(ctx, live_ref=f"task:{task.id}"):
        await outbox.enqueue_edit(
            ctx, of=message, kind="task_update", state=state, payload={"activity_id": task.id}
        )


async def task_closed(ctx: Ctx, task: Activity) -> None:
    """A callback task was done or canceled (here or by a person): its message loses its
    buttons. Call inside the unit of work that closes it."""
    if task.kind == "callback":
        await _refresh_task(ctx, task, "closed")


async def last_missed_at(ctx: Ctx, task: Activity) -> datetime | None:
    """When the number of a callback task last called unanswered (since the task opened)."""
    if task.callback_phone is None:
        return None
    first = select(Call.started_at).where(Call.id == task.source_call_id).scalar_subquery()
    found: datetime | None = await ctx.session.scalar(
        select(func.max(Call.started_at)).where(
            Call.client_e164 == task.callback_phone,
            Call.direction == "in",
            Call.status.in_(("missed", "busy", "failed")),
            Call.started_at >= first,
        )
    )
    return found


def callback_title(ctx: Ctx, who: str) -> str:
    """The callback task's stored title, in the team's language (the configured template)."""
    return ctx.config.callback_title.replace("{name}", who)[:300]


async def _responsible(ctx: Ctx, call: Call, contact: Contact | None) -> int | None:
    """Contact owner, else the extension that rang, else the on-duty fallback."""
    for candidate in (contact.owner_id if contact else None, call.user_id):
        if candidate is not None:
            user = await ctx.session.get(User, candidate)
            if user is not None and user.active:
                return candidate
    return await duty.on_duty_id(ctx)


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
        await _refresh_task(ctx, existing, f"missed{existing.missed_count}")
        return
    assert call.ended_at is not None
    await _ensure_id(ctx, call)  # the task points at the call that opened it
    owner = await _responsible(ctx, call, contact)
    due = call.ended_at + timedelta(minutes=ctx.config.callback_sla_minutes)
    now = ctx.clock.now()
    activity = Activity(
        kind="callback",
        title=callback_title(ctx, contact.name if contact else call.client_e164),
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
    await _notify_missed(ctx, owner, call, activity)


async def _notify_missed(ctx: Ctx, owner: int | None, call: Call, task: Activity) -> None:
    """Tell the task's owner of the missed call; the message is the task's live message."""
    await _notify_user(
        ctx,
        owner,
        "missed_call",
        "missed:{call}",
        call,
        {"activity_id": task.id},
        live_ref=f"task:{task.id}",
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
    await _notify_missed(ctx, owner, call, task)


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
            await task_closed(ctx, task)
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
    await task_closed(ctx, task)
