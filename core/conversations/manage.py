"""What staff do with a client's bot conversation from the card.

1. `conversation_of_contact`: the contact's company-bot conversation (the latest), for anyone
   who may see the contact; NotFound when hidden, Conflict `client-not-in-bot` when the
   client never wrote to the bot.
2. `write`: "Write to client" — a staff member's message (a copy of what they sent the bot)
   goes to the client through `send_to_client`, kept with who wrote it; commits.
3. `set_blocked`: an admin blocks a client (their messages are dropped, nothing is relayed)
   or lets them write again; audited; commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core import access
from core.common import audit
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.conversations import outgoing, retry
from core.conversations.clients import IncomingMessage, content_of
from core.conversations.models import ChatMessage, Conversation
from core.errors import Conflict, NotFound, PermissionDenied


async def conversation_of_contact(ctx: Ctx, *, actor: Actor, contact_id: int) -> Conversation:
    """The contact's bot conversation (step 1)."""
    contact = await ctx.session.get(Contact, contact_id)
    if contact is None or not access.may_see_conversation(ctx, actor, contact):
        raise NotFound(f"contact {contact_id} not found")
    found: Conversation | None = await ctx.session.scalar(
        select(Conversation)
        .where(Conversation.contact_id == contact_id, Conversation.channel == "bot")
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(1)
    )
    if found is None:
        raise Conflict(f"contact {contact_id} never wrote to the bot", code="client-not-in-bot")
    return found


async def write(
    ctx: Ctx,
    *,
    actor: Actor,
    conversation: Conversation,
    copy_of: tuple[int, int],
    message: IncomingMessage,
) -> ChatMessage:
    """A staff member's answer to the client (step 2); commits."""
    fields = content_of(message)
    return await retry.on_sqlite_lock(
        ctx, lambda: _write(ctx, actor, conversation.id, copy_of, fields)
    )


async def _write(
    ctx: Ctx,
    actor: Actor,
    conversation_id: int,
    copy_of: tuple[int, int],
    fields: dict[str, Any],
) -> ChatMessage:
    conversation = await ctx.session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("the conversation is gone")
    contact = await ctx.session.get(Contact, conversation.contact_id)
    if contact is None or not access.may_see_conversation(ctx, actor, contact):
        raise NotFound("this client is not yours to answer")
    if conversation.status == "blocked":
        raise Conflict("an admin blocked this client", code="client-blocked")
    message = await outgoing.send_to_client(
        ctx,
        conversation=conversation,
        **fields,
        copy_of=copy_of,
        author_user_id=actor.user_id,
        author_label=actor.label,
        idempotency_key=f"staff:{copy_of[0]}:{copy_of[1]}",
    )
    await ctx.session.commit()
    return message


async def set_blocked(ctx: Ctx, *, actor: Actor, contact_id: int, blocked: bool) -> Conversation:
    """An admin blocks the client or lets them write again (step 3)."""
    if not actor.is_admin:
        raise PermissionDenied("only an admin blocks a client", code="admin-only")
    conversation = await conversation_of_contact(ctx, actor=actor, contact_id=contact_id)
    before = conversation.status
    conversation.status = "blocked" if blocked else "open"
    conversation.closed_reason = "blocked_by_admin" if blocked else None
    conversation.updated_at = ctx.clock.now()
    audit(
        ctx,
        actor=actor,
        entity="contact",
        entity_id=contact_id,
        action="client_block" if blocked else "client_unblock",
        changes={
            "conversation_id": conversation.id,
            "status": {"from": before, "to": conversation.status},
        },
    )
    await ctx.session.commit()
    return conversation
