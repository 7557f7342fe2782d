"""The "reply to the client" task: the missed call's lifecycle, for a client's message.

1. A client message still unanswered `CHAT_SLA_MINUTES` after it came (the conversation's
   `last_in_at` is later than its `last_out_at`, the last answer by a person) becomes one
   open `reply` task per conversation (`open_due_reply_tasks`, the scheduler's job), owned by
   the contact's owner (else the routed salesperson), due when the SLA ran out. Its
   `remind_at` is that due time, so the reminders job tells the owner at once, as for any
   task; the task points at the conversation (`conversation_id`).
2. The answer closes it (`close_reply_tasks`, called by `send_to_client`): done, with the
   time to answer.
3. Still open one more SLA after it was due, it is escalated once, exactly like an overdue
   callback: the owner is reminded and the on-duty manager told
   (core.activities.reminders.escalate_overdue_callbacks with kind "reply").
4. Blocked and closed conversations open no task; a task already open stays until answered
   or closed by a person.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select

from core.activities.models import Activity
from core.contacts.models import Contact
from core.context import Ctx
from core.conversations.models import Conversation
from core.users.models import User

REPLY = "reply"  # the activity kind
BATCH = 200


def reply_title(ctx: Ctx, who: str) -> str:
    """The reply task's stored title, in the team's language (the configured template)."""
    return ctx.config.reply_title.replace("{name}", who)[:300]


async def close_reply_tasks(ctx: Ctx, *, conversation: Conversation, answered_at: datetime) -> int:
    """The client was answered: their open reply task is done (step 2); returns how many."""
    tasks = list(
        await ctx.session.scalars(
            select(Activity).where(
                Activity.conversation_id == conversation.id,
                Activity.kind == REPLY,
                Activity.status == "planned",
            )
        )
    )
    for task in tasks:
        task.status = "done"
        task.done_at = answered_at
        task.result = "answered"
        task.time_to_callback_seconds = max(int((answered_at - task.created_at).total_seconds()), 0)
        task.updated_at = answered_at
    return len(tasks)


async def _owner(ctx: Ctx, contact: Contact | None) -> int | None:
    if contact is not None and contact.owner_id is not None:
        user = await ctx.session.get(User, contact.owner_id)
        if user is not None and user.active:
            return user.id
    from core.conversations import routing  # routing imports nothing of this module

    return await routing.pick_owner(ctx)


async def open_due_reply_tasks(ctx: Ctx, *, batch: int = BATCH) -> int:
    """Open the reply tasks whose SLA ran out (step 1); commits; returns how many."""
    now = ctx.clock.now()
    cutoff = now - timedelta(minutes=ctx.config.chat_sla_minutes)
    open_task = exists().where(
        Activity.conversation_id == Conversation.id,
        Activity.kind == REPLY,
        Activity.status == "planned",
    )
    due = list(
        await ctx.session.scalars(
            select(Conversation)
            .where(
                Conversation.channel == "bot",
                Conversation.status == "open",
                Conversation.last_in_at.is_not(None),
                Conversation.last_in_at <= cutoff,
                or_(
                    Conversation.last_out_at.is_(None),
                    Conversation.last_out_at < Conversation.last_in_at,
                ),
                ~open_task,
            )
            .order_by(Conversation.last_in_at, Conversation.id)
            .limit(batch)
        )
    )
    if not due:
        await ctx.session.commit()
        return 0
    for conversation in due:
        contact = await ctx.session.get(Contact, conversation.contact_id)
        if contact is None or contact.deleted_at is not None:
            continue
        assert conversation.last_in_at is not None
        due_at = conversation.last_in_at + timedelta(minutes=ctx.config.chat_sla_minutes)
        ctx.session.add(
            Activity(
                kind=REPLY,
                title=reply_title(ctx, contact.name),
                due_at=due_at,
                remind_at=due_at,
                owner_id=await _owner(ctx, contact),
                contact_id=contact.id,
                conversation_id=conversation.id,
                status="planned",
                source="client_message",
                missed_count=0,
                snooze_count=0,
                created_at=conversation.last_in_at,
                updated_at=now,
            )
        )
    await ctx.session.commit()
    return len(due)
