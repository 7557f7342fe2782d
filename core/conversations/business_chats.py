"""A salesperson's Business chats: which are logged, who reads them.

1. `set_excluded`: the salesperson excludes one of their own chats from logging (what was
   logged from it is deleted) or includes it again; anyone else's chat is NotFound.
2. `my_chats` lists their chats for /business; `chat_log` reads a client's Business messages
   for whoever may see them (core.access: as for calls).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from core import access
from core.common import audit
from core.contacts.models import Contact
from core.context import Actor, Ctx
from core.conversations.business import CHANNEL
from core.conversations.models import ChatMessage, Conversation
from core.errors import NotFound


@dataclass(frozen=True)
class BusinessChat:
    """One of a salesperson's logged chats, for the list of chats and its toggles."""

    conversation: Conversation
    contact: Contact


async def set_excluded(
    ctx: Ctx, *, actor: Actor, conversation_id: int, excluded: bool
) -> BusinessChat:
    """Exclude one of the actor's own Business chats from logging (what was logged from it is
    deleted) or include it again. Someone else's chat is NotFound."""
    conversation = await ctx.session.get(Conversation, conversation_id)
    if (
        conversation is None
        or conversation.channel != CHANNEL
        or conversation.user_id is None
        or conversation.user_id != actor.user_id
    ):
        raise NotFound("business chat not found", code="business-chat-not-found")
    contact = await ctx.session.get(Contact, conversation.contact_id)
    if contact is None:
        raise NotFound("business chat not found", code="business-chat-not-found")
    if conversation.excluded != excluded:
        conversation.excluded = excluded
        conversation.updated_at = ctx.clock.now()
        if excluded:
            await ctx.session.execute(
                delete(ChatMessage).where(ChatMessage.conversation_id == conversation.id)
            )
        audit(
            ctx,
            actor=actor,
            entity="conversation",
            entity_id=conversation.id,
            action="exclude" if excluded else "include",
            changes={"contact_id": contact.id},
        )
        await ctx.session.commit()
    return BusinessChat(conversation, contact)


async def my_chats(ctx: Ctx, *, actor: Actor, limit: int = 20) -> list[BusinessChat]:
    """The actor's own Business chats, the most recent first."""
    rows = await ctx.session.execute(
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.channel == CHANNEL, Conversation.user_id == actor.user_id)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    return [BusinessChat(conversation, contact) for conversation, contact in rows.tuples()]


async def chat_log(
    ctx: Ctx, *, actor: Actor, contact_id: int, limit: int = 20
) -> list[ChatMessage]:
    """A contact's Business messages, newest first, for whoever may see those conversations
    (as for calls: the salesperson whose chat it is, or whoever sees the contact)."""
    contact = await ctx.session.get(Contact, contact_id)
    if contact is None or contact.deleted_at is not None:
        raise NotFound("contact not found")
    entries = await ctx.session.scalars(
        select(ChatMessage)
        .join(Conversation, Conversation.id == ChatMessage.conversation_id)
        .where(
            ChatMessage.contact_id == contact_id,
            ChatMessage.channel == CHANNEL,
            access.conversation_clause(ctx, actor),
        )
        .order_by(ChatMessage.sent_at.desc(), ChatMessage.id.desc())
        .limit(limit)
    )
    return list(entries)


async def conversation_for_notice(
    ctx: Ctx, *, conversation_id: int
) -> tuple[Conversation, Contact] | None:
    """A chat and its client for the "new chat logged" notice; None once excluded or gone."""
    conversation = await ctx.session.get(Conversation, conversation_id)
    if conversation is None or conversation.excluded:
        return None
    contact = await ctx.session.get(Contact, conversation.contact_id)
    if contact is None or contact.deleted_at is not None:
        return None
    return conversation, contact
