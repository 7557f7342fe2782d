"""What the outbox's sends and failures mean for client conversations (called by
bot/delivery.py in the unit of work that records them).

1. `record_sent`: a `client_message` went out: the message is `sent`, with the Telegram id
   it became. A `client_relay` went out: every staff message it became is a `MessageRelay`,
   so a reply to any of them answers the client (a known one is a no-op: a resend after a
   crash records nothing twice). Relays sent together as one message (bot/client_chats.py
   `render_relay_group`) each record the staff messages that show them. A Telegram id that
   an entry of the same chat already has is left out (`_free_id`): the record never fails.
2. `record_failed`: a `client_message` Telegram refused is `failed`. A client who blocked the
   bot (403) closes the conversation (`closed_reason` "bot_blocked") and the salesperson who
   wrote (else the contact's owner) is told once per closing (`client_blocked`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.contacts.models import Contact
from core.context import Ctx
from core.conversations import clients
from core.conversations.models import ChatMessage, Conversation, MessageRelay
from core.conversations.outgoing import CLIENT_MESSAGE
from core.conversations.relay import CLIENT_RELAY
from core.outbox import service as outbox
from core.outbox.models import Notification
from core.users.models import User

log = logging.getLogger(__name__)
CLIENT_KINDS = (CLIENT_MESSAGE, CLIENT_RELAY)
CLIENT_BLOCKED = "client_blocked"  # outbox kind: the salesperson is told the client left


async def record_sent(ctx: Ctx, *, sent: Mapping[int, Sequence[int]]) -> None:
    """Record what client messages and relays became (step 1); does not commit."""
    if not sent:
        return
    rows = list(
        await ctx.session.scalars(
            select(Notification).where(
                Notification.id.in_(list(sent)), Notification.kind.in_(CLIENT_KINDS)
            )
        )
    )
    now = ctx.clock.now()
    dialect = ctx.session.bind.dialect.name if ctx.session.bind else "sqlite"
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    for row in rows:
        ids = list(sent.get(row.id) or [])
        message_id = (row.payload or {}).get("chat_message_id")
        if not isinstance(message_id, int):
            continue
        if row.kind == CLIENT_MESSAGE:
            message = await ctx.session.get(ChatMessage, message_id)
            if message is not None and message.status != "sent":
                message.status = "sent"
                message.telegram_message_id = await _free_id(ctx, message, ids[0] if ids else None)
            continue
        conversation_id = (row.payload or {}).get("conversation_id")
        if row.chat_id is None or not isinstance(conversation_id, int):
            continue
        for staff_message_id in ids:
            await ctx.session.execute(
                insert_fn(MessageRelay)
                .values(
                    message_id=message_id,
                    conversation_id=conversation_id,
                    user_id=row.user_id,
                    staff_chat_id=row.chat_id,
                    staff_message_id=staff_message_id,
                    created_at=now,
                )
                .on_conflict_do_nothing(
                    index_elements=["staff_chat_id", "staff_message_id", "message_id"]
                )
            )


async def _free_id(ctx: Ctx, message: ChatMessage, telegram_id: int | None) -> int | None:
    """The Telegram id a sent message became, unless an entry of its chat already has it.

    Telegram numbers a private chat's messages in one sequence, so this never happens with
    it; if it ever did (a Business chat's own log of the same message, a misbehaving API),
    the message is still recorded as sent, without the id: a record that can never succeed
    would leave the batch unrecorded and make the outbox send its messages again."""
    if telegram_id is None:
        return None
    taken = await clients.by_telegram_id(ctx, message.conversation_id, telegram_id)
    if taken is None or taken.id == message.id:
        return telegram_id
    log.warning(
        "client message %s: Telegram id %s is already entry %s's; recorded as sent without it",
        message.id,
        telegram_id,
        taken.id,
    )
    return None


async def record_failed(ctx: Ctx, *, notification_id: int, blocked: bool) -> None:
    """A client message Telegram refused for good (step 2); commits."""
    row = await ctx.session.get(Notification, notification_id)
    if row is None or row.kind != CLIENT_MESSAGE:
        await ctx.session.commit()
        return
    message_id = (row.payload or {}).get("chat_message_id")
    message = (
        await ctx.session.get(ChatMessage, message_id) if isinstance(message_id, int) else None
    )
    if message is None:
        await ctx.session.commit()
        return
    message.status = "failed"
    conversation = await ctx.session.get(Conversation, message.conversation_id)
    if blocked and conversation is not None and conversation.status == "open":
        conversation.status, conversation.closed_reason = "closed", "bot_blocked"
        conversation.updated_at = ctx.clock.now()
        await _tell_blocked(ctx, conversation, message)
    await ctx.session.commit()


async def _tell_blocked(ctx: Ctx, conversation: Conversation, message: ChatMessage) -> None:
    contact = await ctx.session.get(Contact, conversation.contact_id)
    user_id = message.author_user_id or (contact.owner_id if contact else None)
    user = await ctx.session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active or user.telegram_user_id is None:
        return
    since = conversation.last_in_at.isoformat() if conversation.last_in_at else "never"
    payload = {"conversation_id": conversation.id, "contact_id": conversation.contact_id}
    await outbox.notify(ctx, user, CLIENT_BLOCKED, conversation.id, since, payload=payload)
